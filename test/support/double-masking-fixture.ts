import { randomBytes } from 'node:crypto';
import type { RevealBundle, RoundKeysStatement } from '../../schemas/secure-aggregation';
import { chooseFixedPointScale, defaultThreshold } from '../../src/core/secure-aggregation';
import {
  advertiseRoundKeys,
  maskAttempt,
  revealShares,
  simulatedHospitalKeys,
  unmaskRound,
  type EnrolledPublicKeys,
  type HospitalKeys,
  type MaskedAttempt,
  type RoundTerms,
} from '../../src/runtime/double-masking-round';

/**
 * A double-masked round of K simulated hospitals with real node:crypto keys and shares: every
 * phase of src/runtime/double-masking-round.ts, with hooks to stop a hospital (dropout) or play
 * the attacker between phases.
 */
export interface Fixture {
  terms: RoundTerms;
  directory: Map<string, HospitalKeys & EnrolledPublicKeys>;
  /** Each hospital's signed round public keys (phase 1). */
  statements: Map<string, RoundKeysStatement>;
  /** The clipped float updates (what only each hospital knows). */
  updates: Map<string, Float32Array>;
}

export function roundOf(
  k: number,
  options: { length?: number; clipNorm?: number; threshold?: number; minHospitals?: number } = {},
): Fixture {
  const participants = Array.from({ length: k }, (_, i) => `h${String(i + 1).padStart(2, '0')}`);
  const clipNorm = options.clipNorm ?? 1;
  const length = options.length ?? 64;
  const terms: RoundTerms = {
    runId: 'run-attack',
    round: 3,
    participants,
    threshold: options.threshold ?? defaultThreshold(k, k),
    minHospitals: options.minHospitals ?? 3,
    params: chooseFixedPointScale(clipNorm, k),
  };
  const directory = new Map(participants.map((id) => [id, simulatedHospitalKeys(id)]));
  const statements = new Map(
    participants.map((id) => [id, advertiseRoundKeys(directory.get(id)!, terms.runId, 5)]),
  );
  const updates = new Map(participants.map((id) => [id, clippedUpdate(length, clipNorm)]));
  return { terms, directory, statements, updates };
}

/** A random update with L2 norm exactly `norm` (so every |value| ≤ norm). */
export function clippedUpdate(length: number, norm: number): Float32Array {
  const raw = Array.from(randomBytes(length * 2), (b) => b - 127.5).slice(0, length);
  const scale = norm / Math.hypot(...raw);
  return Float32Array.from(raw, (v) => v * scale * (1 - 1e-6));
}

export async function mask(f: Fixture, id: string, update = f.updates.get(id)!): Promise<MaskedAttempt> {
  return maskAttempt(f.terms, f.directory.get(id)!, f.directory, f.statements, update);
}

export async function maskAll(f: Fixture, ids = f.terms.participants): Promise<Map<string, MaskedAttempt>> {
  const out = new Map<string, MaskedAttempt>();
  for (const id of ids) out.set(id, await mask(f, id));
  return out;
}

/** The commitment an honest aggregator makes: what arrived, with its hashes; the rest dropped. */
export function commitmentOf(f: Fixture, arrived: ReadonlyMap<string, MaskedAttempt>) {
  return {
    received: new Map([...arrived].map(([id, a]) => [id, a.updateSha256])),
    dropped: f.terms.participants.filter((id) => !arrived.has(id)),
  };
}

export function reveal(
  f: Fixture,
  survivor: string,
  commitment: ReturnType<typeof commitmentOf>,
  arrived: ReadonlyMap<string, MaskedAttempt>,
  previous: RevealBundle | null = null,
  /** Every attempt whose masking bundle reached the store (default: the arrived ones). */
  published: ReadonlyMap<string, MaskedAttempt> = arrived,
): RevealBundle {
  return revealShares(
    f.terms,
    f.directory.get(survivor)!,
    f.directory,
    commitment,
    { statements: f.statements, bundles: new Map([...published].map(([id, a]) => [id, a.bundle])) },
    previous,
  );
}

/**
 * The honest round: the survivors in `arrived` reveal (all, or `responders`), the aggregator
 * unmasks. `published`: every attempt whose masking bundle is in the store (dropped ones whose
 * blob was lost included); the default, only the arrived ones, makes dropouts use pair seeds.
 */
export async function unmask(
  f: Fixture,
  arrived: ReadonlyMap<string, MaskedAttempt>,
  responders: readonly string[] = [...arrived.keys()],
  published: ReadonlyMap<string, MaskedAttempt> = arrived,
) {
  const commitment = commitmentOf(f, arrived);
  const reveals = responders.map((id) => reveal(f, id, commitment, arrived, null, published));
  return unmaskRound(f.terms, f.directory, heldBy(f, arrived, reveals));
}

/** What the aggregator holds once `arrived` masked and the reveals are in. */
export function heldBy(
  f: Fixture,
  arrived: ReadonlyMap<string, MaskedAttempt>,
  reveals: readonly RevealBundle[],
) {
  return {
    maskedUpdates: new Map([...arrived].map(([id, a]) => [id, { values: a.values, sha256: a.updateSha256 }])),
    statements: f.statements,
    bundles: new Map([...arrived].map(([id, a]) => [id, a.bundle])),
    reveals,
  };
}

/** Σ of the plain updates of `ids` in float64, to compare against a decoded unmasked sum. */
export function plainSum(f: Fixture, ids: readonly string[]): Float64Array {
  const length = f.updates.values().next().value!.length;
  const out = new Float64Array(length);
  for (const id of ids) f.updates.get(id)!.forEach((v, i) => (out[i] += v));
  return out;
}

export function decode(sum: Int32Array, scale: number): Float64Array {
  return Float64Array.from(sum, (q) => q / scale);
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
