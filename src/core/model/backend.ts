import * as tf from '@tensorflow/tfjs';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendSelection {
  backend: BackendName;
  /** Every backend attempted, in order, with the reason it was passed over. */
  tried: Array<{ backend: BackendName; error?: string }>;
}

/** Fastest first: native TensorFlow (CUDA on the GPU image), then WebAssembly, then plain JS. */
const AUTO_ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/**
 * The module that registers each backend with the shared `@tensorflow/tfjs` engine. tfjs-core keeps
 * its engine and kernel registry on the global object, so a backend registered by any copy of the
 * package is visible to this one.
 */
const REGISTERING_MODULE: Record<BackendName, readonly string[] | null> = {
  // Installed only in the job images (jobs/train/Dockerfile): tfjs-node-gpu in the GPU image,
  // tfjs-node (CPU libtensorflow) in the CPU image; absent elsewhere. Either registers 'tensorflow'.
  tensorflow: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
  wasm: ['@tensorflow/tfjs-backend-wasm'],
  // Bundled with @tensorflow/tfjs.
  cpu: null,
};

let selected: { preference: 'auto' | BackendName; result: BackendSelection } | undefined;
let pending: Promise<BackendSelection> | undefined;

/**
 * Chooses and activates the TensorFlow.js backend once per process.
 *
 * 'auto' tries tfjs-node-gpu or tfjs-node, then wasm, then cpu, and never throws for a missing or broken native
 * module (a CUDA library that fails to load is just a reason in `tried`). An explicit preference
 * that cannot be activated is an error naming the backend and why. Repeated calls return the cached
 * selection; 'auto' after any successful call returns what is active; an explicit preference that
 * differs from the active backend switches to it (tfjs moves existing tensors lazily).
 */
export async function initializeBackend(
  preference: 'auto' | BackendName = 'auto',
  log: (msg: string) => void = () => undefined,
): Promise<BackendSelection> {
  // Serialise concurrent callers: two hospitals' jobs in one process must not race setBackend.
  while (pending) await pending.catch(() => undefined);
  if (selected && (preference === 'auto' || preference === selected.result.backend)) return selected.result;
  pending = select(preference, log);
  try {
    const result = await pending;
    selected = { preference, result };
    return result;
  } finally {
    pending = undefined;
  }
}

async function select(
  preference: 'auto' | BackendName,
  log: (msg: string) => void,
): Promise<BackendSelection> {
  const candidates = preference === 'auto' ? AUTO_ORDER : [preference];
  const tried: BackendSelection['tried'] = [];
  for (const backend of candidates) {
    const error = await activate(backend);
    if (error === undefined) {
      tried.push({ backend });
      const passedOver = tried.filter((t) => t.error !== undefined);
      log(
        `TensorFlow.js backend: ${backend}` +
          (passedOver.length > 0
            ? ` (passed over ${passedOver.map((t) => `${t.backend}: ${t.error}`).join('; ')})`
            : ''),
      );
      return { backend, tried };
    }
    tried.push({ backend, error });
  }
  const reasons = tried.map((t) => `${t.backend}: ${t.error}`).join('; ');
  throw new Error(
    preference === 'auto'
      ? `no TensorFlow.js backend could be activated (${reasons})`
      : `TensorFlow.js backend '${preference}' could not be activated: ${tried[0]?.error}`,
  );
}

/** Activates one backend; returns why it failed, or undefined on success. Never throws. */
async function activate(backend: BackendName): Promise<string | undefined> {
  try {
    const modules = REGISTERING_MODULE[backend];
    const moduleName = modules === null ? null : modules.join(' or ');
    if (modules !== null && tf.findBackendFactory(backend) === null) requireFirstPresent(modules);
    if (tf.findBackendFactory(backend) === null) {
      return moduleName === null
        ? `backend '${backend}' is not registered`
        : `${moduleName} loaded but did not register backend '${backend}'`;
    }
    // setBackend resolves to false (after a console warning from tfjs) when initialisation fails.
    if (!(await tf.setBackend(backend))) return `backend '${backend}' failed to initialise`;
    await tf.ready();
    return tf.getBackend() === backend
      ? undefined
      : `tfjs reports backend '${tf.getBackend()}' after switching`;
  } catch (e) {
    return firstLine(e);
  }
}

/**
 * Loads the first of `modules` that is installed. Loaded lazily and synchronously: a static import
 * of an absent module would fail at load time, and the native addon's own load errors (missing
 * libcudnn) surface only here; such an error is thrown, not passed over for the next module. When
 * none is installed, the first one's not-found error is thrown, naming the others.
 */
function requireFirstPresent(modules: readonly string[]): void {
  let firstMissing: Error | undefined;
  for (const name of modules) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(name);
      return;
    } catch (e) {
      const notFound =
        (e as { code?: string }).code === 'MODULE_NOT_FOUND' && firstLine(e).includes(`'${name}'`);
      if (!notFound) throw e;
      firstMissing ??= e as Error;
    }
  }
  const others = modules.slice(1).map((m) => `'${m}'`);
  throw new Error(`${firstLine(firstMissing)}${others.length > 0 ? ` (nor ${others.join(', ')})` : ''}`);
}

/** Node's module-not-found error carries a multi-line require stack; the first line says it all. */
function firstLine(e: unknown): string {
  // Duck-typed: errors thrown from another realm (jest's module registry, a vm) fail instanceof Error.
  const message =
    typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string'
      ? (e as { message: string }).message
      : String(e);
  return message.split('\n')[0].trim();
}
