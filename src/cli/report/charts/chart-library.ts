import type * as PlotLibrary from '@observablehq/plot';
import type * as LinkedomLibrary from 'linkedom';

let plot: typeof PlotLibrary | undefined;
let linkedom: typeof LinkedomLibrary | undefined;

/**
 * Loads Observable Plot and linkedom through Node's own ES-module loader. Optional, and worth it
 * under tsx (bin/himas.js): there require() compiles d3's and the parser's few hundred ES-module
 * files one by one, 1.6 s against 0.25 s for the native loader (measured on this repository's
 * 2-core machine). Compiled code (tsc, ts-jest) turns import() into require(), which is as fast.
 */
export async function preloadChartLibraries(): Promise<void> {
  plot ??= await import('@observablehq/plot');
  linkedom ??= await import('linkedom');
}

/* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, not at start-up */
/** Observable Plot: preloaded, or required on first use (Node loads its ES modules with require(esm)). */
export function plotLibrary(): typeof PlotLibrary {
  return (plot ??= require('@observablehq/plot') as typeof PlotLibrary);
}

/** linkedom, the DOM Plot draws into on the server. */
export function domLibrary(): typeof LinkedomLibrary {
  return (linkedom ??= require('linkedom') as typeof LinkedomLibrary);
}
/* eslint-enable @typescript-eslint/no-require-imports */
