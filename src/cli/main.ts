import packageJson from '../../package.json';
import { exitCode, exitCodeLines } from './exit-codes';
import { didYouMean } from './suggest';
import { UserError } from './user-error';
import { agentsCommand } from './commands/agents';
import { auditCommand } from './commands/audit';
import { benchCommand } from './commands/bench';
import { dataCommand } from './commands/data';
import { deployCommand } from './commands/deploy';
import { predictCommand } from './commands/predict';
import { privacyCommand } from './commands/privacy';
import { stackCommand } from './commands/stack';
import { statusCommand } from './commands/status';
import { trainCommand } from './commands/train';
import { uiCommand } from './commands/ui';
import { workflowsCommand } from './commands/workflows';

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  data: dataCommand,
  train: trainCommand,
  predict: predictCommand,
  status: statusCommand,
  agents: agentsCommand,
  audit: auditCommand,
  stack: stackCommand,
  workflows: workflowsCommand,
  privacy: privacyCommand,
  bench: benchCommand,
  deploy: deployCommand,
  ui: uiCommand,
};

const USAGE = `himas — privacy-preserving federated learning of an ICU-mortality model

Usage: himas <command> [flags]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run \`himas <command> --help\` for a command's flags.

Exit codes:
${exitCodeLines().join('\n')}`;

/** Runs the CLI and returns the exit code. Bad input is one line on stderr; bugs keep their stack. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write(`${packageJson.version}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command)
      throw new UserError(
        `unknown command '${name}'${didYouMean(name, Object.keys(COMMANDS))}; commands: ${Object.keys(COMMANDS).join(', ')}`,
      );
    return await command.run(rest);
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
    process.stderr.write(`himas: ${e.message}\n`);
    if (process.env.HIMAS_DEBUG) process.stderr.write(`${e.stack}\n`);
    else process.stderr.write('(set HIMAS_DEBUG=1 to see where it happened)\n');
    return 1;
  }
}
