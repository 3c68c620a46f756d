import * as path from 'node:path';
import { gcloudAvailability } from '../../local/emulators';
import {
  probeStack,
  readStackState,
  startStack,
  stackStatePath,
  stopStack,
} from '../../local/stack/stack-control';
import { parseCommandArgs, stringFlag } from '../args';
import type { Command } from '../main';
import { defaultHome } from '../run-locations';
import { UserError } from '../user-error';

const HELP = `Usage: himas stack up|down|status [--home DIR] [--json]

The emulator stack: the gcloud Pub/Sub and Firestore emulators on free loopback ports, the topics
and subscriptions Terraform creates, and the functions (aggregate, coordinator, the five agents)
served by functions-framework, each behind its Pub/Sub push subscriptions as Eventarc feeds it.
Pids and ports are recorded in <home>/stack.json; \`himas train --stack emulators\` uses it.

  up       start the stack (needs gcloud, Java and the emulator components)
  down     stop every process of the stack (the emulators forget everything)
  status   what runs where`;

export const stackCommand: Command = {
  summary: 'start, stop or show the local emulator stack (himas stack up|down|status)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'stack',
      argv,
      { home: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      true,
    );
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const [verb, ...rest] = positionals;
    if (rest.length > 0 || !verb || !['up', 'down', 'status'].includes(verb))
      throw new UserError('himas stack takes one of up, down, status; see `himas stack --help`');
    const home = path.resolve(stringFlag(values, 'home') ?? defaultHome());
    const say = (line: string) => process.stderr.write(`${line}\n`);

    if (verb === 'up') {
      const availability = await gcloudAvailability();
      if (!availability.available)
        throw new UserError(`cannot start the emulator stack:\n  - ${availability.problems.join('\n  - ')}`);
      if (readStackState(home))
        throw new UserError(
          `a stack is already recorded in ${stackStatePath(home)}: \`himas stack status\`, or \`himas stack down\` first`,
        );
      await startStack(home, say);
      return printStatus(home, values.json === true);
    }
    if (verb === 'down') {
      const stopped = await stopStack(home);
      process.stdout.write(
        stopped.length === 0
          ? `no stack recorded in ${home}\n`
          : `stopped ${stopped.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}\n`,
      );
      return 0;
    }
    return printStatus(home, values.json === true);
  },
};

async function printStatus(home: string, json: boolean): Promise<number> {
  const state = readStackState(home);
  if (!state) {
    process.stdout.write(json ? 'null\n' : `no stack recorded in ${home}; \`himas stack up\` starts one\n`);
    return json ? 0 : 1;
  }
  const processes = await probeStack(state);
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...state, processes }, null, 2)}\n`);
  } else {
    const lines = [
      `Emulator stack of ${stackStatePath(home)} (project ${state.projectId}, started ${state.startedAt})`,
    ];
    for (const p of processes)
      lines.push(
        `  ${p.name.padEnd(25)} ${`http://${p.host}`.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${p.alive && p.answering ? 'running' : p.alive ? 'not answering' : 'gone'}   log ${p.log}`,
      );
    lines.push(
      `  PUBSUB_EMULATOR_HOST=${state.pubsubEmulatorHost} FIRESTORE_EMULATOR_HOST=${state.firestoreEmulatorHost}`,
    );
    lines.push(`  blobs (Cloud Storage has no emulator): ${state.blobDir}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return processes.every((p) => p.alive && p.answering) ? 0 : 1;
}
