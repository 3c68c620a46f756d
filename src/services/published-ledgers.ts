import { blobPaths } from '../../schemas/documents';
import type { LedgerExcerpt, SignedLedgerEntry } from '../../schemas/privacy-ledger';
import { BlobHospitalLedgerStore, LedgerCorruptError } from '../adapters/ledger/blob-hospital-ledger-store';
import type { BlobStore } from '../ports/blob-store';
import type { DocumentStore } from '../ports/document-store';
import { verifyLedgerChain } from '../runtime/ledger-signing';
import { readEnrolment, signingKeyHistory } from './enrolled-keys';

/**
 * Reading a hospital's published privacy ledger (the mirror in the shared store) as the aggregator,
 * the privacy guardian and auditors do: the whole chain, verified under the signing key the hospital
 * is enrolled with, never trusted for what it claims. Whoever can write the shared store could drop
 * or alter entries; the chain and the signatures make that visible, and a verification failure
 * fails closed (no guarantee is stated from an unverifiable ledger).
 */
export type PublishedLedger =
  | {
      ok: true;
      hospitalId: string;
      signingPublicKey: string;
      previousSigningPublicKeys: string[];
      entries: SignedLedgerEntry[];
    }
  | { ok: false; hospitalId: string; reason: string };

export async function readPublishedLedger(
  deps: { blobs: BlobStore; documents: Pick<DocumentStore, 'get'> },
  hospitalId: string,
): Promise<PublishedLedger> {
  const enrolment = await readEnrolment(deps.documents, hospitalId);
  if (!enrolment.ok)
    return { ok: false, hospitalId, reason: `${enrolment.reason}: no key to verify its ledger` };
  let entries: SignedLedgerEntry[];
  try {
    entries = await new BlobHospitalLedgerStore(
      deps.blobs,
      'the shared store',
      blobPaths.ledgerMirrorRoot,
    ).read(hospitalId);
  } catch (error) {
    if (error instanceof LedgerCorruptError) return { ok: false, hospitalId, reason: error.message };
    throw error;
  }
  // A revoked hospital's past entries still verify: what it contributed stays accounted for.
  const keys = signingKeyHistory(enrolment.enrolment);
  const signingPublicKey = keys.current;
  const previousSigningPublicKeys = keys.previous;
  const check = verifyLedgerChain({ hospitalId, signingPublicKey, previousSigningPublicKeys, entries });
  if (!check.ok)
    return { ok: false, hospitalId, reason: `published privacy ledger of ${hospitalId}: ${check.reason}` };
  return { ok: true, hospitalId, signingPublicKey, previousSigningPublicKeys, entries };
}

/** Whether entries 0..upTo charge `slot` of `runId` (a use entry naming it), i.e. the data use was paid for. */
export function chargedFor(
  entries: readonly SignedLedgerEntry[],
  runId: string,
  slot: string,
  upTo: number,
): boolean {
  return entries
    .slice(0, upTo + 1)
    .some((e) => e.entry.runId === runId && e.entry.kind === 'use' && e.entry.slots.includes(slot));
}

export function excerptOf(ledger: Extract<PublishedLedger, { ok: true }>): LedgerExcerpt {
  return {
    hospitalId: ledger.hospitalId,
    signingPublicKey: ledger.signingPublicKey,
    previousSigningPublicKeys: ledger.previousSigningPublicKeys,
    entries: ledger.entries,
  };
}
