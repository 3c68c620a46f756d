/** Where the time goes: a V8 CPU profile summarised as self time by component and the hottest functions. */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of self time per component, largest first. */
  components: Array<{ component: string; share: number }>;
  /** Hottest functions by self time. */
  hottest: Array<{ fn: string; component: string; share: number }>;
}

/** Which part of the stack a frame belongs to, from its script URL. */
export function componentOf(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(idle)') return 'idle (waiting)';
  if (functionName === '(program)') return 'V8/native (not attributed)';
  if (url.startsWith('wasm://') || /^(wasm-function|\$)/.test(functionName)) return 'wasm kernels (XNNPACK)';
  const m = /node_modules\/(@tensorflow\/[^/]+|[^/@][^/]*)/.exec(url);
  if (m) {
    const names: Record<string, string> = {
      '@tensorflow/tfjs-core': 'tfjs-core (op dispatch, engine, autodiff tape)',
      '@tensorflow/tfjs-layers': 'tfjs-layers',
      '@tensorflow/tfjs-backend-cpu': 'tfjs cpu kernels (plain JS)',
      '@tensorflow/tfjs-backend-wasm': 'tfjs wasm backend (JS glue)',
    };
    return names[m[1]] ?? `other package (${m[1]})`;
  }
  if (url.startsWith('node:') || url === '') return 'node internals';
  if (/\/(src|bench)\//.test(url)) return 'himas code (src/, bench/)';
  return 'other';
}

export function summarizeProfile(profile: CpuProfile, top = 8): ProfileSummary {
  const byNode = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    total += dt;
  });
  const components = new Map<string, number>();
  const functions = new Map<string, { component: string; us: number }>();
  for (const [id, us] of selfUs) {
    const node = byNode.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const component = componentOf(url, functionName);
    components.set(component, (components.get(component) ?? 0) + us);
    const file = url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    const entry = functions.get(key) ?? { component, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const share = (us: number) => (total > 0 ? us / total : 0);
  return {
    totalMs: total / 1000,
    components: [...components]
      .map(([component, us]) => ({ component, share: share(us) }))
      .sort((a, b) => b.share - a.share),
    hottest: [...functions]
      .map(([fn, e]) => ({ fn, component: e.component, share: share(e.us) }))
      .sort((a, b) => b.share - a.share)
      .slice(0, top),
  };
}

/**
 * Samples the CPU while `task` runs, in this process (node:inspector, the same profiler as
 * node --cpu-prof), so start-up and module loading stay out of the picture.
 */
export async function profileWhile(
  task: () => Promise<unknown>,
  samplingIntervalUs = 200,
): Promise<CpuProfile> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const inspector = require('node:inspector') as typeof import('node:inspector');
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))),
    );
  try {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await post('Profiler.start');
    await task();
    const { profile } = (await post('Profiler.stop')) as { profile: CpuProfile };
    return profile;
  } finally {
    session.disconnect();
  }
}
