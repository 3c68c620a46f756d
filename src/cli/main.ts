import packageJson from '../../package.json';
import { exitCode, exitCodeLines } from './exit-codes';
import { didYouMean } from './suggest';
import { UserError } from './user-error';
export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

// Each command's module loads only when that command runs: `himas status` or `himas ui` does not
// pay for TensorFlow.js and the cloud clients that `himas train` needs (about 2 s and 80 MB here).
// require, not import(): tsx runs this file as CommonJS, where import() would take the ESM loader.
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, () => Promise<Command>> = {
  data: async () => (require('./commands/data') as typeof import('./commands/data')).dataCommand,
  train: async () => (require('./commands/train') as typeof import('./commands/train')).trainCommand,
  predict: async () => (require('./commands/predict') as typeof import('./commands/predict')).predictCommand,
  status: async () => (require('./commands/status') as typeof import('./commands/status')).statusCommand,
  agents: async () => (require('./commands/agents') as typeof import('./commands/agents')).agentsCommand,
  audit: async () => (require('./commands/audit') as typeof import('./commands/audit')).auditCommand,
  stack: async () => (require('./commands/stack') as typeof import('./commands/stack')).stackCommand,
  workflows: async () =>
    (require('./commands/workflows') as typeof import('./commands/workflows')).workflowsCommand,
  privacy: async () => (require('./commands/privacy') as typeof import('./commands/privacy')).privacyCommand,
  hospitals: async () =>
    (require('./commands/hospitals') as typeof import('./commands/hospitals')).hospitalsCommand,
  bench: async () => (require('./commands/bench') as typeof import('./commands/bench')).benchCommand,
  deploy: async () => (require('./commands/deploy') as typeof import('./commands/deploy')).deployCommand,
  ui: async () => (require('./commands/ui') as typeof import('./commands/ui')).uiCommand,
  deadletter: async () =>
    (require('./commands/deadletter') as typeof import('./commands/deadletter')).deadletterCommand,
};
/* eslint-enable @typescript-eslint/no-require-imports */

async function usage(): Promise<string> {
  const lines: string[] = [];
  for (const [name, load] of Object.entries(COMMANDS))
    lines.push(`  ${name.padEnd(10)} ${(await load()).summary}`);
  return `himas — privacy-preserving federated learning of an ICU-mortality model

Usage: himas <command> [flags]

Commands:
${lines.join('\n')}

Run \`himas <command> --help\` for a command's flags.

Exit codes:
${exitCodeLines().join('\n')}`;
}

/** Runs the CLI and returns the exit code. Bad input is one line on stderr; bugs keep their stack. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await usage()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write(`${packageJson.version}\n`);
    return 0;
  }
  try {
    if (!Object.hasOwn(COMMANDS, name))
      throw new UserError(
        `unknown command '${name}'${didYouMean(name, Object.keys(COMMANDS))}; commands: ${Object.keys(COMMANDS).join(', ')}`,
      );
    return await (await COMMANDS[name]()).run(rest);
  } catch (error) {
    if (error instanceof UserError) {
      process.stderr.write(`himas: error: ${error.message}\n`);
      return error.exitCode;
    }
    const e = error as Error;
    if (e.name === 'StoreInUseError') {
      process.stderr.write(`himas: error: ${e.message}; wait for it to finish, or pass --home DIR\n`);
      return exitCode('busy');
    }
    if (e.name === 'StoreStorageError' || e.name === 'DamagedBlobError') {
      process.stderr.write(`himas: error: ${e.message}\n`);
      return exitCode('storage');
    }
    process.stderr.write(`himas: ${e.message}\n`);
    if (process.env.HIMAS_DEBUG) process.stderr.write(`${e.stack}\n`);
    else process.stderr.write('(set HIMAS_DEBUG=1 to see where it happened)\n');
    return 1;
  }
}
