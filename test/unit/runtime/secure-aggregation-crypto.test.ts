import { diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  aesCtrSeedExpander,
  deriveMaskingKeyPair,
  derivePairSeed,
  exportMaskingPublicKey,
  exportPrivateKeyPem,
  generateMaskingKeyPair,
  importMaskingPublicKey,
  importPrivateKeyPem,
  maskUpdate,
  revealSeedForDropped,
  type MaskingKeyPair,
} from '../../../src/runtime/secure-aggregation-crypto';
import { CryptoRandom } from '../../../src/runtime/crypto-random';
import {
  chooseFixedPointScale,
  fixedPointErrorBound,
  unmaskAverage,
  type FixedPointParameters,
} from '../../../src/core/secure-aggregation';

const RUN = 'run-7';

interface Hospital {
  id: string;
  keys: MaskingKeyPair;
  update: Float32Array;
}

function hospitals(k: number, p: number, clipNorm: number): Hospital[] {
  const random = new CryptoRandom();
  return Array.from({ length: k }, (_, i) => {
    const update = new Float32Array(p);
    random.fillStandardNormal(update);
    let norm = 0;
    for (const v of update) norm += v * v;
    const s = clipNorm / Math.sqrt(norm);
    for (let j = 0; j < p; j++) update[j] *= s * 0.999;
    return { id: `h${String(i).padStart(2, '0')}`, keys: generateMaskingKeyPair(), update };
  });
}

function masked(all: Hospital[], h: Hospital, round: number, params: FixedPointParameters): Int32Array {
  return maskUpdate({
    runId: RUN,
    round,
    hospitalId: h.id,
    privateKey: h.keys.privateKey,
    peers: all.filter((o) => o !== h).map((o) => ({ hospitalId: o.id, publicKey: o.keys.publicKey })),
    update: h.update,
    params,
  });
}

function plainAverage(updates: Float32Array[], m: number): Float64Array {
  const out = new Float64Array(updates[0].length);
  for (const u of updates) for (let i = 0; i < u.length; i++) out[i] += u[i];
  for (let i = 0; i < out.length; i++) out[i] /= m;
  return out;
}

function maxError(a: Float32Array, b: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('secure aggregation with X25519 + HKDF + AES-256-CTR', () => {
  it('derives the same pair seed on both sides, fresh per run, round and pair', () => {
    const [a, b, c] = [generateMaskingKeyPair(), generateMaskingKeyPair(), generateMaskingKeyPair()];
    const seed = (
      self: string,
      sk: MaskingKeyPair,
      peer: string,
      pk: MaskingKeyPair,
      round = 1,
      runId = RUN,
    ) =>
      Buffer.from(
        derivePairSeed({
          runId,
          round,
          selfId: self,
          privateKey: sk.privateKey,
          peerId: peer,
          peerPublicKey: pk.publicKey,
        }),
      ).toString('hex');
    const ab = seed('a', a, 'b', b);
    expect(seed('b', b, 'a', a)).toBe(ab);
    expect(ab).toHaveLength(64);
    expect(seed('a', a, 'b', b, 2)).not.toBe(ab);
    expect(seed('a', a, 'b', b, 1, 'run-8')).not.toBe(ab);
    expect(seed('a', a, 'c', c)).not.toBe(ab);
    // same keys, swapped labels: the ids are bound too
    expect(seed('x', a, 'b', b)).not.toBe(ab);
  });

  it('expands a seed deterministically into uniform-looking words', () => {
    const seed = new Uint8Array(32).fill(7);
    const words = aesCtrSeedExpander(seed, 100_000);
    expect(aesCtrSeedExpander(seed, 10)).toEqual(words.subarray(0, 10));
    let mean = 0;
    for (const w of words) mean += (w >>> 0) / 2 ** 32;
    mean /= words.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / words.length));
    expect(() => aesCtrSeedExpander(new Uint8Array(16), 4)).toThrow(/32 bytes/);
  });

  it('masked and plain aggregation give the same average within the fixed-point bound', () => {
    const k = 5;
    const all = hospitals(k, 2000, 1);
    const params = chooseFixedPointScale(1, k);
    const maskedUpdates = new Map(all.map((h) => [h.id, masked(all, h, 3, params)]));
    const average = unmaskAverage(
      { participants: all.map((h) => h.id), maskedUpdates, revealedSeeds: [], length: 2000 },
      aesCtrSeedExpander,
      params,
      k,
    );
    const plain = plainAverage(
      all.map((h) => h.update),
      k,
    );
    expect(maxError(average, plain)).toBeLessThanOrEqual(fixedPointErrorBound(params, k) + 2 ** -24);
  });

  it.each([1, 2])('recovers the average when %i hospital(s) drop out after masking', (drops) => {
    const k = 6;
    const m = k; // fixed denominator: the expected hospitals, as DP-FedAvg uses
    const all = hospitals(k, 500, 2);
    const params = chooseFixedPointScale(2, k);
    const dropped = all.slice(1, 1 + drops);
    const survivors = all.filter((h) => !dropped.includes(h));
    const maskedUpdates = new Map(survivors.map((h) => [h.id, masked(all, h, 4, params)]));
    const revealedSeeds = survivors.flatMap((s) =>
      dropped.map((d) =>
        revealSeedForDropped({
          runId: RUN,
          round: 4,
          survivorId: s.id,
          privateKey: s.keys.privateKey,
          droppedId: d.id,
          droppedPublicKey: d.keys.publicKey,
        }),
      ),
    );
    const round = { participants: all.map((h) => h.id), maskedUpdates, revealedSeeds, length: 500 };
    const average = unmaskAverage(round, aesCtrSeedExpander, params, m);
    const plain = plainAverage(
      survivors.map((h) => h.update),
      m,
    );
    expect(maxError(average, plain)).toBeLessThanOrEqual(fixedPointErrorBound(params, m) + 2 ** -24);
    // without the revealed seeds the sum is garbage, and unmasking refuses
    expect(() => unmaskAverage({ ...round, revealedSeeds: [] }, aesCtrSeedExpander, params, m)).toThrow(
      /missing revealed seeds/,
    );
  });

  it('a single masked update looks uniform and is uncorrelated with the true update', () => {
    const p = 100_000;
    const all = hospitals(3, p, 1);
    const params = chooseFixedPointScale(1, 3);
    const y = masked(all, all[0], 1, params);
    const x = all[0].update;
    let sx = 0,
      sy = 0,
      sxx = 0,
      syy = 0,
      sxy = 0,
      uniformMean = 0;
    for (let i = 0; i < p; i++) {
      const a = x[i];
      const b = y[i];
      sx += a;
      sy += b;
      sxx += a * a;
      syy += b * b;
      sxy += a * b;
      uniformMean += (b >>> 0) / 2 ** 32;
    }
    const cov = sxy / p - (sx / p) * (sy / p);
    const corr = cov / Math.sqrt((sxx / p - (sx / p) ** 2) * (syy / p - (sy / p) ** 2));
    expect(Math.abs(corr)).toBeLessThan(5 / Math.sqrt(p)); // sd of a null correlation is 1/sqrt(p)
    expect(Math.abs(uniformMean / p - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / p));
  });

  it('gives different masks in different rounds for the same update', () => {
    const all = hospitals(3, 64, 1);
    const params = chooseFixedPointScale(1, 3);
    const r1 = masked(all, all[0], 1, params);
    const r2 = masked(all, all[0], 2, params);
    let equal = 0;
    for (let i = 0; i < 64; i++) if (r1[i] === r2[i]) equal++;
    expect(equal).toBeLessThan(3);
  });

  it('serializes keys: raw base64 public keys for enrolment, PEM private keys for the secret store', () => {
    const a = generateMaskingKeyPair();
    const b = generateMaskingKeyPair();
    const publicB64 = exportMaskingPublicKey(a.publicKey);
    expect(Buffer.from(publicB64, 'base64')).toHaveLength(32);
    const pem = exportPrivateKeyPem(a.privateKey);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const original = derivePairSeed({
      runId: RUN,
      round: 1,
      selfId: 'a',
      privateKey: a.privateKey,
      peerId: 'b',
      peerPublicKey: b.publicKey,
    });
    const restored = derivePairSeed({
      runId: RUN,
      round: 1,
      selfId: 'b',
      privateKey: b.privateKey,
      peerId: 'a',
      peerPublicKey: importMaskingPublicKey(publicB64),
    });
    expect(restored).toEqual(original);
    const viaPem = derivePairSeed({
      runId: RUN,
      round: 1,
      selfId: 'a',
      privateKey: importPrivateKeyPem(pem),
      peerId: 'b',
      peerPublicKey: b.publicKey,
    });
    expect(viaPem).toEqual(original);
    expect(() => importMaskingPublicKey('AAAA')).toThrow(/32 bytes/);
  });
});

describe('deriveMaskingKeyPair', () => {
  it('derives one X25519 key per signing key, deterministic and distinct across hospitals', () => {
    const pem = (k: KeyObject) => k.export({ format: 'pem', type: 'pkcs8' }).toString();
    const signingA = generateKeyPairSync('ed25519').privateKey;
    const signingB = generateKeyPairSync('ed25519').privateKey;
    const a = deriveMaskingKeyPair(pem(signingA));
    const again = deriveMaskingKeyPair(pem(signingA));
    const b = deriveMaskingKeyPair(pem(signingB));
    expect(a.privateKey.asymmetricKeyType).toBe('x25519');
    expect(exportMaskingPublicKey(again.publicKey)).toBe(exportMaskingPublicKey(a.publicKey));
    expect(exportMaskingPublicKey(b.publicKey)).not.toBe(exportMaskingPublicKey(a.publicKey));
    // The derived pair is a working key pair: both sides agree on the shared secret.
    const ab = diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey });
    const ba = diffieHellman({ privateKey: b.privateKey, publicKey: a.publicKey });
    expect(ab.equals(ba)).toBe(true);
  });

  it('refuses a key that is not Ed25519', () => {
    const x = generateKeyPairSync('x25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => deriveMaskingKeyPair(x)).toThrow(/Ed25519 signing key, got x25519/);
  });
});
