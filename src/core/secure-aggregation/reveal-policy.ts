/**
 * A survivor's half of the unmasking round (Bonawitz et al. 2017, §4, round 4): for every
 * participant it reveals exactly one thing — its share of the self-mask seed b_v when v's update
 * was received; when v dropped, its share of v's round masking key, or (v dropped before it sent
 * any shares) its own pair seed s_{self,v} — never a self-mask share and a pairwise secret for one
 * v, and once: a second request for the same round gets the same answer or a refusal. With both
 * kinds for one v the aggregator could strip every mask off v's blob.
 */

export type ShareKind = 'self-mask' | 'masking-key' | 'pair-seed';

/** What a share or seed uncovers: v's self-mask, or v's pairwise masks. */
export const revealsSelfMask = (kind: ShareKind): boolean => kind === 'self-mask';

export interface RevealRequest {
  selfId: string;
  /** U1: every participant of the masked round. */
  participants: readonly string[];
  /** The round's commitment: each received participant with the SHA-256 of the update it accepted. */
  received: ReadonlyMap<string, string>;
  /** The round's commitment: participants declared dropped. */
  dropped: readonly string[];
  /** Dropped participants whose round-key share this survivor holds (they sent shares before dropping). */
  sharesFrom: ReadonlySet<string>;
}

/** Per participant (self included), which share this survivor reveals; for self-mask, of which update. */
export type RevealDecision = ReadonlyMap<string, { kind: ShareKind; updateSha256: string | null }>;

export class RevealRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RevealRefusedError';
  }
}

/**
 * What this survivor reveals for the round, or RevealRefusedError with the reason. `previous` is
 * what it revealed before for this round (kept in its own storage): a request that differs from it
 * for any participant is refused — that is the aggregator asking for the other share.
 */
export function decideReveal(request: RevealRequest, previous: RevealDecision | null): RevealDecision {
  const { selfId, participants, received, dropped, sharesFrom } = request;
  const members = new Set(participants);
  if (members.size !== participants.length)
    throw new RevealRefusedError('the round lists a participant twice');
  if (!received.has(selfId))
    throw new RevealRefusedError(`${selfId}'s own update was not received: only survivors reveal shares`);
  const droppedSet = new Set(dropped);
  for (const id of [...received.keys(), ...droppedSet]) {
    if (!members.has(id)) throw new RevealRefusedError(`${id} is not a participant of the masked round`);
  }
  const decision = new Map<string, { kind: ShareKind; updateSha256: string | null }>();
  for (const id of participants) {
    const wasReceived = received.has(id);
    if (wasReceived && droppedSet.has(id)) {
      throw new RevealRefusedError(
        `the round says ${id} both arrived and dropped: revealing either share could unmask its update; refusing`,
      );
    }
    if (!wasReceived && !droppedSet.has(id))
      throw new RevealRefusedError(
        `the round has not said whether ${id} arrived or dropped; refusing to reveal`,
      );
    decision.set(
      id,
      wasReceived
        ? { kind: 'self-mask', updateSha256: received.get(id)! }
        : { kind: sharesFrom.has(id) ? 'masking-key' : 'pair-seed', updateSha256: null },
    );
  }
  if (previous !== null) {
    for (const [id, now] of decision) {
      const before = previous.get(id);
      // A round key share or a pair seed for v uncover the same thing (v's pairwise masks): either
      // answers "v dropped"; the earlier answer stands.
      const same =
        before !== undefined &&
        revealsSelfMask(before.kind) === revealsSelfMask(now.kind) &&
        before.updateSha256 === now.updateSha256;
      if (!same) {
        throw new RevealRefusedError(
          `already revealed the ${before?.kind ?? 'no'} share for ${id} in this round; asked now for the ${now.kind} share${now.updateSha256 ? ` of update ${now.updateSha256.slice(0, 12)}…` : ''}: refusing (both would unmask ${id})`,
        );
      }
    }
    if (previous.size !== decision.size)
      throw new RevealRefusedError('the round now lists other participants than when this survivor revealed');
    return previous;
  }
  return decision;
}
