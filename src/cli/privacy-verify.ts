import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { HospitalPrivacySchema, PrivacyGuaranteeSchema, type HospitalPrivacy } from '../../schemas/privacy';
import { LedgerExcerptSchema } from '../../schemas/privacy-ledger';
import { verifyLedgerChain } from '../runtime/ledger-signing';
import { hospitalPrivacy } from '../services/patient-privacy';
import { UserError } from './user-error';

/**
 * `himas privacy verify MODEL_DIR`: an auditor's check of a model folder alone, with no access to
 * the system. model.json carries, per participating hospital, its whole ledger chain (signed entries
 * and the public key). Each chain must verify (numbering, SHA-256 links, Ed25519 signatures), and
 * the guarantees the version states must not be below what the entries recompute to with the RDP
 * accountant. The public keys' fingerprints are printed so they can be compared with the keys the
 * operator enrolled (`himas hospitals list`).
 */
const Metadata = z.object({
  versionId: z.string(),
  runId: z.string(),
  privacy: z.array(PrivacyGuaranteeSchema),
  hospitalPrivacy: z.array(HospitalPrivacySchema).default([]),
  privacyLedgers: z.array(LedgerExcerptSchema).default([]),
});

export interface VerificationResult {
  ok: boolean;
  modelDirectory: string;
  versionId: string | null;
  runId: string | null;
  problems: string[];
  hospitals: Array<{
    hospitalId: string;
    keyFingerprint: string;
    entries: number;
    chain: 'verified' | string;
    stated: { run: number | null; lifetime: number | null } | null;
    recomputed: { run: number | null; lifetime: number | null } | null;
  }>;
  statedPatientEpsilon: number | null;
  recomputedPatientEpsilon: number | null;
}

export async function verifyModelPrivacy(modelDirectory: string): Promise<VerificationResult> {
  const file = path.join(modelDirectory, 'model.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UserError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const himas = (json as { userDefinedMetadata?: { himas?: unknown } })?.userDefinedMetadata?.himas;
  const parsed = Metadata.safeParse(himas);
  const result: VerificationResult = {
    ok: false,
    modelDirectory,
    versionId: null,
    runId: null,
    problems: [],
    hospitals: [],
    statedPatientEpsilon: null,
    recomputedPatientEpsilon: null,
  };
  if (!parsed.success) {
    result.problems.push(
      `${file} carries no HIMAS privacy metadata (userDefinedMetadata.himas: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}); is it a trained HIMAS model version?`,
    );
    return result;
  }
  const meta = parsed.data;
  result.versionId = meta.versionId;
  result.runId = meta.runId;
  const patient = meta.privacy.find((g) => g.unit === 'patient');
  result.statedPatientEpsilon = patient?.epsilon ?? null;
  if (meta.privacyLedgers.length === 0)
    result.problems.push(
      'the version carries no ledger excerpt: its patient-level guarantee cannot be recomputed',
    );
  let worst = 0;
  for (const excerpt of meta.privacyLedgers) {
    const stated = meta.hospitalPrivacy.find((h) => h.hospitalId === excerpt.hospitalId) ?? null;
    const check = verifyLedgerChain(excerpt);
    const row: VerificationResult['hospitals'][number] = {
      hospitalId: excerpt.hospitalId,
      keyFingerprint: createHash('sha256')
        .update(Buffer.from(excerpt.signingPublicKey, 'base64'))
        .digest('hex')
        .slice(0, 16),
      entries: excerpt.entries.length,
      chain: check.ok ? 'verified' : check.reason,
      stated: stated && { run: stated.run.epsilon, lifetime: stated.lifetime.epsilon },
      recomputed: null,
    };
    result.hospitals.push(row);
    if (!check.ok) {
      result.problems.push(`${excerpt.hospitalId}: ${check.reason}`);
      worst = Infinity;
      continue;
    }
    if (excerpt.entries.length === 0) {
      result.problems.push(`${excerpt.hospitalId}: empty ledger`);
      continue;
    }
    const last = excerpt.entries.at(-1)!.entry;
    const again = hospitalPrivacy(excerpt.entries, meta.runId, {
      delta: last.delta,
      budgetEpsilon: last.budgetEpsilon,
    });
    row.recomputed = { run: again.run.epsilon, lifetime: again.lifetime.epsilon };
    worst = Math.max(worst, again.run.epsilon ?? Infinity);
    if (!stated)
      result.problems.push(`${excerpt.hospitalId}: the version states no guarantee for this hospital`);
    else compare(result.problems, excerpt.hospitalId, stated, again);
  }
  for (const h of meta.hospitalPrivacy)
    if (!meta.privacyLedgers.some((l) => l.hospitalId === h.hospitalId))
      result.problems.push(`${h.hospitalId}: a guarantee is stated but its ledger is not in the excerpt`);
  result.recomputedPatientEpsilon = Number.isFinite(worst) ? worst : null;
  if (meta.privacyLedgers.length > 0) {
    const stated = patient?.epsilon ?? null;
    if (
      stated !== null &&
      (result.recomputedPatientEpsilon === null || stated < result.recomputedPatientEpsilon - 1e-9)
    )
      result.problems.push(
        `the version states patient-level ε = ${stated.toFixed(4)}, its ledgers recompute to ${fmt(result.recomputedPatientEpsilon)}: the claim is too low`,
      );
  }
  result.ok = result.problems.length === 0;
  return result;
}

function compare(
  problems: string[],
  hospitalId: string,
  stated: HospitalPrivacy,
  again: HospitalPrivacy,
): void {
  const below = (claim: number | null, truth: number | null) =>
    truth === null ? claim !== null : claim !== null && claim < truth - 1e-9;
  if (below(stated.run.epsilon, again.run.epsilon))
    problems.push(
      `${hospitalId}: states ε = ${fmt(stated.run.epsilon)} for the run, its ledger recomputes ${fmt(again.run.epsilon)}`,
    );
  if (below(stated.lifetime.epsilon, again.lifetime.epsilon))
    problems.push(
      `${hospitalId}: states lifetime ε = ${fmt(stated.lifetime.epsilon)}, its ledger recomputes ${fmt(again.lifetime.epsilon)}`,
    );
}

const fmt = (x: number | null) => (x === null ? '∞' : x.toFixed(4));

export function renderVerification(r: VerificationResult): string {
  const lines = [
    `${r.ok ? 'VERIFIED' : 'NOT VERIFIED'}: ${r.modelDirectory}${r.versionId ? ` (${r.versionId}, run ${r.runId})` : ''}`,
  ];
  if (r.statedPatientEpsilon !== null || r.recomputedPatientEpsilon !== null)
    lines.push(
      `  patient-level ε (least protected hospital, this run): stated ${fmt(r.statedPatientEpsilon)}, recomputed ${fmt(r.recomputedPatientEpsilon)}`,
    );
  for (const h of r.hospitals)
    lines.push(
      `  ${h.hospitalId.padEnd(22)} key ${h.keyFingerprint}  ${h.entries} entries, chain ${h.chain}; run ε stated ${fmt(h.stated?.run ?? null)} / recomputed ${fmt(h.recomputed?.run ?? null)}, lifetime ${fmt(h.stated?.lifetime ?? null)} / ${fmt(h.recomputed?.lifetime ?? null)}`,
    );
  for (const p of r.problems) lines.push(`  problem: ${p}`);
  if (r.hospitals.length > 0)
    lines.push('  Compare each key fingerprint with the key the operator enrolled for that hospital.');
  return lines.join('\n');
}
