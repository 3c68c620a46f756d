import { blobPaths, type RoundDocument, type RunDocument } from '../../schemas/documents';
import type { EventOf } from '../../schemas/events';
import type { MaskingBundle } from '../../schemas/secure-aggregation';
import { encodeUpdate } from '../core/codec/update-codec';
import { chooseFixedPointScale } from '../core/secure-aggregation';
import type { BlobStore } from '../ports/blob-store';
import type { DocumentStore } from '../ports/document-store';
import {
  maskAttempt,
  advertiseRoundKeys,
  type HospitalKeys,
  type RoundTerms,
} from '../runtime/double-masking-round';
import { importPrivateKeyPem } from '../runtime/secure-aggregation-crypto';
import type { EnrolledKeys } from './hospital-enrolment';
import { maskingDirectory } from './masking-directory';

export type UpdateMasking = NonNullable<EventOf<'update.submitted'>['data']['masking']>;

/**
 * Hospital side of a double-masked round (docs/architecture.md §5; the phases are in
 * src/runtime/double-masking-round.ts). Everything here is written to the hospital's own blob
 * prefix: its round public keys (phase 1) and, per attempt, the masked update with its encrypted
 * shares (phase 2). The reveal (phase 3) is src/services/seed-reveal.ts.
 */

/** What the protocol needs of the hospital's own keys. */
export function protocolKeys(hospitalId: string, keys: EnrolledKeys): HospitalKeys {
  return {
    identity: {
      hospitalId,
      signingKey: importPrivateKeyPem(keys.signing.privateKeyPem),
      identityMaskingKey: importPrivateKeyPem(keys.masking.privateKeyPem),
    },
    signingPrivateKeyPem: keys.signing.privateKeyPem,
  };
}

/** The round document's masking, as the protocol's terms. */
export function roundTerms(round: RoundDocument): RoundTerms {
  const masking = round.masking;
  if (masking === null) throw new Error(`round ${round.round} of run ${round.runId} is not masked`);
  const params = chooseFixedPointScale(masking.clipNorm, masking.participants.length);
  if (params.scale !== masking.scale) {
    throw new Error(
      `round ${round.round} says fixed-point scale ${masking.scale}, C = ${masking.clipNorm} with ${masking.participants.length} participants gives ${params.scale}`,
    );
  }
  return {
    runId: round.runId,
    round: round.round,
    participants: masking.participants,
    threshold: masking.threshold,
    minHospitals: masking.minHospitals,
    params,
  };
}

/**
 * Phase 1, at the start of the run (the `stats` job): the hospital's signed round masking public
 * keys for every round, derived from its own key, so no peer is needed. Written once (a re-run
 * finds it and keeps it: the keys are the same).
 */
export async function publishRoundKeys(
  blobs: Pick<BlobStore, 'create'>,
  run: RunDocument,
  hospitalId: string,
  keys: EnrolledKeys,
): Promise<void> {
  const statement = advertiseRoundKeys(protocolKeys(hospitalId, keys), run.runId, run.config.rounds);
  await blobs.create(blobPaths.roundKeys(run.runId, hospitalId), Buffer.from(JSON.stringify(statement)), {
    contentType: 'application/json',
  });
}

/** The signed round-key statements of `hospitalIds` (missing ones are left out: verification names them). */
export async function readRoundKeys(
  blobs: Pick<BlobStore, 'get' | 'stat'>,
  runId: string,
  hospitalIds: readonly string[],
): Promise<Map<string, unknown>> {
  const statements = new Map<string, unknown>();
  for (const id of hospitalIds) {
    const path = blobPaths.roundKeys(runId, id);
    if (await blobs.stat(path))
      statements.set(id, JSON.parse(Buffer.from(await blobs.get(path)).toString('utf8')));
  }
  return statements;
}

/**
 * Phase 2 for this attempt: the clipped update in fixed point, self-masked with a fresh seed and
 * pairwise-masked against every other participant's signed round key, as the int32 blob bytes,
 * with the masking bundle (encrypted shares of the seed and the round key) bound to their hash.
 * DP-FedAvg weights every hospital the same (fixed denominator), so nothing is pre-weighted.
 */
export async function maskClippedUpdate(input: {
  documents: Pick<DocumentStore, 'get'>;
  blobs: Pick<BlobStore, 'get' | 'stat'>;
  round: RoundDocument;
  hospitalId: string;
  keys: EnrolledKeys;
  clipped: Float32Array;
  /** When the hospital masks: its peers' keys valid now are the ones masked against. */
  now: Date;
}): Promise<{ bytes: Uint8Array; masking: UpdateMasking; bundle: MaskingBundle }> {
  const { round, hospitalId } = input;
  const terms = roundTerms(round);
  if (!terms.participants.includes(hospitalId))
    throw new Error(`hospital ${hospitalId} is not a masking participant of round ${round.round}`);
  const directory = await maskingDirectory(input.documents, terms.participants, input.now);
  const statements = await readRoundKeys(input.blobs, round.runId, terms.participants);
  const attempt = await maskAttempt(
    terms,
    protocolKeys(hospitalId, input.keys),
    directory,
    statements,
    input.clipped,
    encodeUpdate,
  );
  return {
    bytes: encodeUpdate(attempt.values),
    masking: {
      scheme: round.masking!.scheme,
      scale: round.masking!.scale,
      participants: [...terms.participants],
    },
    bundle: attempt.bundle,
  };
}
