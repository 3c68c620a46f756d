import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import {
  LedgerEntrySchema,
  type LedgerEntry,
  type LedgerExcerpt,
  type SignedLedgerEntry,
} from '../../schemas/privacy-ledger';
import { importSigningPublicKey } from './update-signing';

/**
 * Signatures and the hash chain of a hospital's privacy ledger. An entry is signed over a domain
 * prefix and its canonical JSON (object keys sorted, no white space), so the signature does not
 * depend on how a store happened to serialise it; each entry names the SHA-256 of the previous
 * entry's canonical JSON, so a published chain cannot lose or reorder an entry unnoticed.
 */
const DOMAIN = 'himas-ledger-entry-v1\n';

/** JSON with object keys in sorted order at every depth (numbers and strings as JSON.stringify writes them). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * What is known of an entry object that cannot change (frozen: the ledger store shares its parsed
 * entries frozen, and only while the stored object's fingerprint is unchanged): its hash, and the
 * raw keys its signature verified under. A pure function of immutable bytes is not recomputed;
 * anything not frozen (an entry just built, one from a message) is checked in full every time.
 */
const entryHashes = new WeakMap<LedgerEntry, string>();
const verifiedUnder = new WeakMap<SignedLedgerEntry, Set<string>>();

export function entrySha256(entry: LedgerEntry): string {
  const known = entryHashes.get(entry);
  if (known !== undefined) return known;
  const sha = createHash('sha256').update(canonicalJson(entry)).digest('hex');
  if (Object.isFrozen(entry)) entryHashes.set(entry, sha);
  return sha;
}

export function signLedgerEntry(entry: LedgerEntry, privateKey: KeyObject): SignedLedgerEntry {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError('ledger signing needs an Ed25519 key');
  const parsed = LedgerEntrySchema.parse(entry);
  return {
    entry: parsed,
    signature: sign(null, Buffer.from(DOMAIN + canonicalJson(parsed)), privateKey).toString('base64'),
  };
}

export type ChainCheck = { ok: true } | { ok: false; reason: string };

/**
 * Verifies a chain of signed entries from entry 0: numbering, links, hospital and every signature
 * under `signingPublicKey` (raw Ed25519, base64) or, across rotations, under one of
 * `previousSigningPublicKeys` (oldest first) — never going back to an older key once a newer one
 * signed, so a retired key cannot append to the chain. Never throws on bad input: a reason comes back.
 */
export function verifyLedgerChain(
  excerpt: Pick<LedgerExcerpt, 'hospitalId' | 'signingPublicKey' | 'entries'> & {
    previousSigningPublicKeys?: readonly string[];
  },
): ChainCheck {
  const keys: KeyObject[] = [];
  const rawKeys = [...(excerpt.previousSigningPublicKeys ?? []), excerpt.signingPublicKey];
  for (const raw of rawKeys) {
    try {
      keys.push(importSigningPublicKey(raw));
    } catch (error) {
      return {
        ok: false,
        reason: `the signing public key is not a raw Ed25519 key: ${(error as Error).message}`,
      };
    }
  }
  let keyIndex = 0;
  let previous: string | null = null;
  for (const [index, signed] of excerpt.entries.entries()) {
    // A frozen entry that verified before under one of these keys is the same bytes (the store
    // re-reads any entry whose object changed): its numbering, hospital and link are checked
    // again below, its schema and signature are not re-derived.
    const known = Object.isFrozen(signed) ? verifiedUnder.get(signed) : undefined;
    const knownSigner = known ? rawKeys.findIndex((raw, k) => k >= keyIndex && known.has(raw)) : -1;
    if (knownSigner >= 0) {
      const entry = signed.entry;
      const misplaced = placementFault(entry, index, excerpt.hospitalId, previous);
      if (misplaced) return { ok: false, reason: misplaced };
      keyIndex = knownSigner;
      previous = entrySha256(entry);
      continue;
    }
    const parsed = LedgerEntrySchema.safeParse(signed.entry);
    if (!parsed.success)
      return { ok: false, reason: `entry ${index} is malformed: ${parsed.error.issues[0]?.message}` };
    const entry = parsed.data;
    const misplaced = placementFault(entry, index, excerpt.hospitalId, previous);
    if (misplaced) return { ok: false, reason: misplaced };
    const canonical = canonicalJson(entry);
    const message = Buffer.from(DOMAIN + canonical);
    const signature = Buffer.from(signed.signature, 'base64');
    let signer = -1;
    for (let k = keyIndex; k < keys.length && signer < 0; k++) {
      try {
        if (verify(null, message, keys[k], signature)) signer = k;
      } catch {
        // A malformed signature verifies under no key.
      }
    }
    if (signer < 0)
      return { ok: false, reason: `entry ${index} is not signed by ${excerpt.hospitalId}'s key` };
    keyIndex = signer;
    previous = createHash('sha256').update(canonical).digest('hex');
    // Only an entry the schema leaves as it is (nothing stripped) is the object that was verified.
    if (Object.isFrozen(signed) && canonicalJson(signed.entry) === canonical) {
      const under = verifiedUnder.get(signed) ?? new Set<string>();
      under.add(rawKeys[signer]);
      verifiedUnder.set(signed, under);
    }
  }
  return { ok: true };
}

/** Why an entry is not where the chain says it must be (numbering, hospital, link), or null. */
function placementFault(
  entry: { sequence: number; hospitalId: string; previousSha256: string | null },
  index: number,
  hospitalId: string,
  previous: string | null,
): string | null {
  if (entry.sequence !== index) return `entry ${index} is numbered ${entry.sequence}`;
  if (entry.hospitalId !== hospitalId)
    return `entry ${index} belongs to ${entry.hospitalId}, not ${hospitalId}`;
  if (entry.previousSha256 !== previous)
    return `entry ${index} does not link to entry ${index - 1} (chain broken)`;
  return null;
}
