import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The console's static files, all served from this machine (no outside network): Observable Plot
 * and d3 from their packages' own browser bundles, the console's script and styles from client/.
 * Read once, on first request.
 */
/** A package's folder, found from its entry point (neither package exports its package.json). */
function packageDir(name: string, from?: string): string {
  let dir = path.dirname(require.resolve(name, from ? { paths: [from] } : undefined));
  while (!existsSync(path.join(dir, 'package.json')) || readPackageName(dir) !== name) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the folder of package ${name}`);
    dir = parent;
  }
  return dir;
}

const readPackageName = (dir: string): string =>
  (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name ?? '';

const plotDir = packageDir('@observablehq/plot');
const FILES: Record<string, { file: () => string; type: string }> = {
  'plot.umd.min.js': { file: () => path.join(plotDir, 'dist', 'plot.umd.min.js'), type: 'text/javascript' },
  // Plot's own d3 (its dependency), so the pair always matches.
  'd3.min.js': {
    file: () => path.join(packageDir('d3', plotDir), 'dist', 'd3.min.js'),
    type: 'text/javascript',
  },
  'console.js': { file: () => path.join(__dirname, 'client', 'console.js'), type: 'text/javascript' },
  'console.css': { file: () => path.join(__dirname, 'client', 'console.css'), type: 'text/css' },
};

const cache = new Map<string, Buffer>();

export function asset(name: string): { body: Buffer; type: string } | undefined {
  const entry = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!entry) return undefined;
  let body = cache.get(name);
  if (!body) {
    body = readFileSync(entry.file());
    cache.set(name, body);
  }
  return { body, type: `${entry.type}; charset=utf-8` };
}
