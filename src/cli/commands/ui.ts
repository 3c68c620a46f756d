import * as path from 'node:path';
import { parseCommandArgs, stringFlag } from '../args';
import type { Command } from '../main';
import { defaultHome } from '../run-locations';
import { UserError } from '../user-error';
import { startConsole } from '../../ui/console-server';
import type { ConsoleStackKind } from '../../ui/console-store';

const HELP = `Usage: himas ui [--port P] [--host H] [--stack embedded|emulators|gcp] [--home DIR]

The web console: runs live while they train, each run's rounds and charts, model versions with
their lineage and guarantees, each hospital's privacy ledger, surveillance alerts and treatment
estimates, the audit log, and a risk calculator for one stay. Read-only; it works while
\`himas train\` runs on the same store.
  --port P     port to listen on (default $PORT, else 8080; 0 picks a free one)
  --host H     address to listen on (default 127.0.0.1: this machine only)
  --stack S    embedded (default: the store in --home), emulators (<home>/stack.json), or gcp
               (HIMAS_PROJECT, HIMAS_BUCKET and the runtime's credentials, as on Cloud Run)
Stop it with Ctrl-C.`;

const STACKS: readonly ConsoleStackKind[] = ['embedded', 'emulators', 'gcp'];

export const uiCommand: Command = {
  summary: 'serve the web console: runs, models, ledgers, alerts, audit, risk calculator (himas ui)',
  async run(argv) {
    const { values } = parseCommandArgs('ui', argv, {
      port: { type: 'string' },
      host: { type: 'string' },
      stack: { type: 'string' },
      home: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const stack = (stringFlag(values, 'stack') ?? 'embedded') as ConsoleStackKind;
    if (!STACKS.includes(stack))
      throw new UserError(`--stack '${stack}' must be one of ${STACKS.join(', ')}`);
    const portText = stringFlag(values, 'port') ?? process.env.PORT ?? '8080';
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535)
      throw new UserError(`--port '${portText}' must be a whole number from 0 to 65535`);
    const host = stringFlag(values, 'host') ?? '127.0.0.1';
    const home = path.resolve(stringFlag(values, 'home') ?? defaultHome());
    let running;
    try {
      running = await startConsole({ stack, home, host, port });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE')
        throw new UserError(`port ${port} on ${host} is in use; pass --port P (0 picks a free one)`);
      if (e.name === 'ConsoleStoreError' || e.name === 'StackConfigError') throw new UserError(e.message);
      throw error;
    }
    process.stdout.write(
      `HIMAS console on ${running.url} (reading ${running.store.location}); Ctrl-C stops it\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await running.close();
    return 0;
  },
};
