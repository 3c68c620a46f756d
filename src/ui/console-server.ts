import { serve, type ServerType } from '@hono/node-server';
import { consoleApp } from './app';
import { openConsoleStore, type ConsoleStackKind, type ConsoleStore } from './console-store';

export interface RunningConsole {
  url: string;
  store: ConsoleStore;
  close(): Promise<void>;
}

/** Starts the console on host:port (0 picks a free port) over the chosen stack's store. */
export async function startConsole(options: {
  stack: ConsoleStackKind;
  home: string;
  host: string;
  port: number;
}): Promise<RunningConsole> {
  const store = openConsoleStore(options.stack, options.home);
  let backend: Promise<unknown> | undefined;
  const app = consoleApp({
    store,
    // TensorFlow.js only when the calculator is first used: the console starts without it.
    ensureModelBackend: async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      backend ??= (require('../core/model') as typeof import('../core/model')).initializeBackend('auto');
      await backend;
    },
  });
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    store,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
