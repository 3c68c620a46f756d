import { FileHospitalKeyStore } from '../../../src/adapters/keys/file-hospital-key-store';
import type { BlobHospitalLedgerStore } from '../../../src/adapters/ledger/blob-hospital-ledger-store';
import { hospitalStateDir, localHospitalLedger } from '../../../src/adapters/ledger/local-hospital-ledger';
import { chargeUse } from '../../../src/services/patient-privacy';
import { BlobHospitalLedgerStore as MirrorStore } from '../../../src/adapters/ledger/blob-hospital-ledger-store';
import { importPrivateKeyPem } from '../../../src/runtime/secure-aggregation-crypto';
import { signUpdate } from '../../../src/runtime/update-signing';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blobPaths, modelVersionId, paths, type RunDocument } from '../../../schemas/documents';
import type { EventOf, HimasEvent, HospitalEvent } from '../../../schemas/events';
import type { HospitalEvaluation } from '../../../schemas/metrics';
import { TrainingConfigSchema, type TrainingConfigInput } from '../../../schemas/training-config';
import { openEmbeddedStack, type EmbeddedStack } from '../../../src/adapters/embedded';
import { DocumentModelRegistry } from '../../../src/adapters/model-registry/document-model-registry';
import { encodeUpdate } from '../../../src/core/codec/update-codec';
import { generateCohort, type SyntheticCohort } from '../../../src/core/data';
import { binRisks } from '../../../src/core/evaluation/risk-histogram';
import { silentLogger } from '../../../src/logging/logger';
import type { Clock } from '../../../src/ports/clock';
import type { CohortSource } from '../../../src/ports/cohort-source';
import type { EventBus } from '../../../src/ports/event-bus';
import { CryptoRandom } from '../../../src/runtime/crypto-random';
import { Aggregator } from '../../../src/services/aggregator';
import type { LeaseHolderProbe } from '../../../src/services/aggregation/aggregator-context';
import { makeEvent } from '../../../src/services/event-publishing';
import { runHospitalJob, type HospitalJobDeps } from '../../../src/services/hospital-job';
import { enrolSimulatedHospitals } from '../../../src/services/hospital-enrolment';
import { signHospitalEvent } from '../../../src/runtime/hospital-event-signing';
import { RunLifecycle } from '../../../src/services/run-lifecycle';
import { weightsFromBytes } from '../../../src/services/weights-bytes';

/** A clock the test moves by hand. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(time: Date): void;
}

export function manualClock(start = new Date('2025-01-01T00:00:00.000Z')): ManualClock {
  let t = start.getTime();
  return {
    now: () => new Date(t),
    sleep: async (ms: number) => {
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
    set: (time: Date) => {
      t = time.getTime();
    },
  };
}

/** An EventBus that records every published HIMAS event and forwards it to the real bus. */
export interface RecordingBus extends EventBus {
  published: Array<{ topic: string; event: HimasEvent }>;
  ofType<T extends HimasEvent['type']>(type: T): EventOf<T>[];
}

export function recordingBus(inner: EventBus): RecordingBus {
  const published: RecordingBus['published'] = [];
  return {
    published,
    ofType: <T extends HimasEvent['type']>(type: T) =>
      published.filter((p) => p.event.type === type).map((p) => p.event as EventOf<T>),
    publish: async (topic, message) => {
      published.push({ topic, event: JSON.parse(message.data) as HimasEvent });
      return inner.publish(topic, message);
    },
    subscribe: (spec, handler) => inner.subscribe(spec, handler),
    idle: () => inner.idle(),
    close: () => inner.close(),
  };
}

export function memoryCohortSource(cohort: SyntheticCohort): CohortSource {
  return {
    read: async (hospitalId, split) => {
      const hospital = cohort.hospitals.find((h) => h.hospitalId === hospitalId);
      if (!hospital) throw new Error(`no hospital ${hospitalId}`);
      return hospital[split];
    },
    describe: () => ({ kind: 'csv', location: 'memory' }),
  };
}

let sharedCohort: SyntheticCohort | undefined;
/** One small synthetic cohort (3 hospitals, 600 stays) shared by every test in a file. */
export function smallCohort(): SyntheticCohort {
  sharedCohort ??= generateCohort({ preset: 'archetypes', hospitals: 3, patients: 600, seed: 7 });
  return sharedCohort;
}

export interface RunFixture {
  home: string;
  stack: EmbeddedStack;
  bus: RecordingBus;
  models: DocumentModelRegistry;
  clock: ManualClock;
  lifecycle: RunLifecycle;
  aggregator: Aggregator;
  /** A second aggregator instance (another function instance) on the same stores. */
  otherAggregator: Aggregator;
  runId: string;
  run: RunDocument;
  hospitals: string[];
  baseVersionId: string;
  baseWeights: Float32Array;
  numParameters: number;
  /** The hospitals' own key store (what the jobs sign with). */
  keys: FileHospitalKeyStore;
  /** The hospitals' own privacy ledgers. */
  ledger: BlobHospitalLedgerStore;
  /** Each hospital's declared (public) training stays. */
  declared: Record<string, number>;
  close(options?: { keepHome?: boolean }): Promise<void>;
}

/** What a test hands a hospital job on the fixture's stack (smallCohort's records); `overrides` replace ports. */
export function hospitalJobDeps(f: RunFixture, overrides: Partial<HospitalJobDeps> = {}): HospitalJobDeps {
  return {
    documents: f.stack.documents,
    blobs: f.stack.blobs,
    events: f.bus,
    models: f.models,
    cohorts: memoryCohortSource(smallCohort()),
    keys: f.keys,
    ledger: f.ledger,
    clock: f.clock,
    logger: silentLogger,
    ...overrides,
  };
}

export const SMALL_CONFIG: TrainingConfigInput = {
  rounds: 3,
  localEpochs: 1,
  hiddenUnits: [8],
  batchSize: 64,
  clipNorm: 2,
  noiseMultiplier: 0,
  // Service tests pin the aggregation arithmetic; patient-level DP-SGD has its own tests.
  patientPrivacy: 'none',
  // craftUpdate sends plain float32 updates; the masked path has its own tests
  // (secure-aggregation.test.ts), which turn this back on.
  secureAggregation: false,
};

/**
 * An embedded stack in a temp dir with a run whose hospitals have shared their statistics and whose
 * initial model (version r0000) exists. Round 1 is not opened.
 */
export async function setUpRun(
  config: TrainingConfigInput = {},
  options: {
    runId?: string;
    leaseSeconds?: number;
    /** The bus instead of the embedded one (the Pub/Sub emulator's, say). */
    events?: EventBus;
    /** How the aggregators prove a lease holder dead (the local stacks' probe). */
    leaseHolders?: LeaseHolderProbe;
    /** Where the hospitals' keys live (share one to compare runs signed by the same keys). */
    keysDir?: string;
    /** The hospitals' data (default smallCohort()). */
    cohort?: SyntheticCohort;
    /** A store folder to reuse (an earlier fixture's, closed with keepHome). */
    home?: string;
    /** Public cohort sizes (default: each hospital's training rows). */
    declaredTrainStays?: Record<string, number>;
  } = {},
): Promise<RunFixture> {
  const home = options.home ?? mkdtempSync(path.join(os.tmpdir(), 'himas-services-'));
  const stack = await openEmbeddedStack(home);
  const bus = recordingBus(options.events ?? stack.events);
  const models = new DocumentModelRegistry(stack.documents, stack.blobs);
  const clock = manualClock();
  const ports = { documents: stack.documents, blobs: stack.blobs, events: bus, models };
  const lifecycle = new RunLifecycle({ ...ports, clock, logger: silentLogger });
  const aggregatorDeps = {
    ...ports,
    clock,
    logger: silentLogger,
    random: new CryptoRandom(),
    leaseSeconds: options.leaseSeconds,
    leaseHolders: options.leaseHolders,
  };
  const aggregator = new Aggregator({ ...aggregatorDeps, instanceId: 'aggregator-a' });
  const otherAggregator = new Aggregator({ ...aggregatorDeps, instanceId: 'aggregator-b' });
  const cohort = options.cohort ?? smallCohort();
  const hospitals = cohort.hospitals.map((h) => h.hospitalId);
  const runId = options.runId ?? 'run-test';
  const declared =
    options.declaredTrainStays ??
    Object.fromEntries(cohort.hospitals.map((h) => [h.hospitalId, h.train.length]));
  await lifecycle.createRun({
    runId,
    config: TrainingConfigSchema.parse({ ...SMALL_CONFIG, ...config }),
    hospitals,
    dataSource: { kind: 'csv', location: 'memory' },
    declaredTrainStays: declared,
  });
  const keys = new FileHospitalKeyStore(options.keysDir ?? path.join(home, 'keys'));
  const ledger = localHospitalLedger(hospitalStateDir(home));
  const jobDeps = {
    ...ports,
    cohorts: memoryCohortSource(cohort),
    clock,
    logger: silentLogger,
    keys,
    ledger,
  };
  try {
    // The operator enrols the hospitals (they never enrol themselves); keys already on file are kept.
    await enrolSimulatedHospitals(
      { documents: stack.documents, clock, operator: 'operator:test', keys },
      hospitals,
    );
    for (const hospitalId of hospitals)
      await runHospitalJob({ mode: 'stats', runId, hospitalId, taskAttempt: 0 }, jobDeps);
  } catch (error) {
    // A hospital refused the run (its budget): release the store before the test sees the error.
    await stack.close();
    if (!options.home) rmSync(home, { recursive: true, force: true });
    throw error;
  }
  const run = (await lifecycle.getRun(runId))!;
  const base = await lifecycle.initializeModel(run);
  const loaded = await models.load(base.versionId);
  return {
    home,
    stack,
    bus,
    models,
    clock,
    lifecycle,
    aggregator,
    otherAggregator,
    runId,
    run: (await lifecycle.getRun(runId))!,
    hospitals,
    baseVersionId: base.versionId,
    baseWeights: weightsFromBytes(loaded.artifacts.weights),
    numParameters: base.numParameters,
    keys,
    ledger,
    declared,
    close: async (closing?: { keepHome?: boolean }) => {
      await stack.close();
      if (!closing?.keepHome) rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A tiny evaluation a hospital could report (labels and risks chosen by the test). */
export function evaluationOf(
  hospitalId: string,
  versionId: string,
  labels: number[] = [0, 1, 0, 1, 0],
  risks: number[] = [0.1, 0.8, 0.3, 0.6, 0.2],
): HospitalEvaluation {
  return {
    hospitalId,
    modelVersionId: versionId,
    histogram: binRisks(labels, risks),
    privacy: { unit: 'patient', noiseMultiplier: 4, l2Sensitivity: 1, epsilon: 1, delta: 1e-5 },
  };
}

export interface CraftOptions {
  round?: number;
  /** Bytes to store instead of the encoded values (e.g. truncated). */
  bytes?: Uint8Array;
  /** Do not store any blob. */
  skipBlob?: boolean;
  sha256?: string;
  baseModelVersionId?: string;
  eventId?: string;
  numExamples?: number;
  /** A signature to send instead of the hospital's own (e.g. forged). */
  signature?: string;
  /** The masking the event declares (a masked int32 update); default none. */
  masking?: EventOf<'update.submitted'>['data']['masking'];
  /** Do not charge the hospital's ledger for the round (an update nobody paid for). */
  skipLedger?: boolean;
  /** Send this evaluation of the base model (default none: the run does not evaluate every round). */
  baseEvaluation?: HospitalEvaluation | null;
  /** Leave the envelope unsigned (default: signed by the hospital's own key, as its job does). */
  unsignedEnvelope?: boolean;
  /** Sign the envelope (and the update) with this hospital's key instead (an impersonation). */
  signAs?: string;
}

/** Stores an update blob as a hospital job would and returns the `update.submitted` delivery. */
export async function craftUpdate(
  fx: RunFixture,
  hospitalId: string,
  values: Float32Array | Int32Array,
  options: CraftOptions = {},
): Promise<{ data: string; event: EventOf<'update.submitted'> }> {
  const round = options.round ?? 1;
  const bytes = options.bytes ?? encodeUpdate(values);
  const blobPath = blobPaths.update(fx.runId, round, hospitalId);
  if (!options.skipBlob) await fx.stack.blobs.put(blobPath, bytes);
  const roundDoc = await fx.lifecycle.getRound(fx.runId, round);
  const baseModelVersionId = options.baseModelVersionId ?? roundDoc?.baseModelVersionId ?? fx.baseVersionId;
  const numExamples = options.numExamples ?? fx.declared[hospitalId] ?? 100;
  const key = await fx.keys.signingKey(options.signAs ?? hospitalId);
  // As the job does: the round's training is charged to the hospital's ledger (and published)
  // before an update exists.
  const run = (await fx.lifecycle.getRun(fx.runId))!;
  const signer = { hospitalId, privateKey: importPrivateKeyPem(key.privateKeyPem), publicKey: key.publicKey };
  const ledgerDeps = {
    ledger: fx.ledger,
    mirror: new MirrorStore(fx.stack.blobs, 'shared'),
    clock: fx.clock,
  };
  // An impostor (signAs) cannot charge the named hospital's ledger: only that hospital writes it.
  const entries =
    options.skipLedger || options.signAs !== undefined
      ? await fx.ledger.read(hospitalId)
      : await chargeUse(ledgerDeps, signer, run, [`train:${round}`]);
  const signature =
    options.signature ??
    signUpdate(
      { runId: fx.runId, round, hospitalId, baseModelVersionId, numExamples, blob: bytes },
      importPrivateKeyPem(key.privateKeyPem),
    );
  const unsigned = makeEvent('update.submitted', {
    id: options.eventId ?? `update:${fx.runId}:${round}:${hospitalId}`,
    runId: fx.runId,
    round,
    time: fx.clock.now(),
    data: {
      hospitalId,
      baseModelVersionId,
      blobPath,
      sha256: options.sha256 ?? createHash('sha256').update(bytes).digest('hex'),
      numExamples,
      signature,
      masking: options.masking ?? null,
      numParameters: Math.max(1, values.length),
      trainLoss: 0.4,
      baseEvaluation: options.baseEvaluation ?? null,
      ledgerSequence: Math.max(0, entries.length - 1),
    },
  });
  const event = options.unsignedEnvelope
    ? unsigned
    : signHospitalEvent(unsigned, importPrivateKeyPem(key.privateKeyPem));
  return { data: JSON.stringify(event), event };
}

/** A hospital event as the hospital's job sends it: signed with its own key (or `signAs`'s). */
export async function signedAs<E extends HospitalEvent>(
  fx: RunFixture,
  hospitalId: string,
  event: E,
): Promise<E> {
  const key = await fx.keys.signingKey(hospitalId);
  return signHospitalEvent(event, importPrivateKeyPem(key.privateKeyPem));
}

/** A delta with a chosen L2 norm, deterministic per seed (values in [-1, 1] before scaling). */
export function deltaWithNorm(length: number, norm: number, seed: number): Float32Array {
  const v = new Float64Array(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = s / 2 ** 32 - 0.5;
  }
  const current = Math.sqrt(v.reduce((acc, x) => acc + x * x, 0));
  return Float32Array.from(v, (x) => (x * norm) / current);
}

/** Reasons of the rejections in the audit log (enrolments, acceptances and publications are audited too). */
export async function auditReasons(fx: RunFixture): Promise<string[]> {
  return (await fx.stack.documents.list(paths.audits()))
    .filter((s) => s.data.outcome === 'rejected')
    .map((s) => String(s.data.reason));
}

/** The audit log's records as (action, outcome, subject), in store order. */
export async function auditActions(fx: RunFixture): Promise<Array<[string, string, string | null]>> {
  return (await fx.stack.documents.list(paths.audits())).map((s) => [
    String(s.data.action),
    String(s.data.outcome),
    (s.data.subject as string | null) ?? null,
  ]);
}

export async function receiptsOf(fx: RunFixture, round = 1) {
  return (await fx.stack.documents.list(paths.updates(fx.runId, round))).map((s) => s.data);
}

export const versionOf = (fx: RunFixture, round: number) => modelVersionId(fx.runId, round);
