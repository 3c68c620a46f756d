import { generateKeyPairSync } from 'node:crypto';
import {
  exportSigningPublicKey,
  generateSigningKeyPair,
  importSigningPublicKey,
  signUpdate,
  verifyUpdateSignature,
  type SignedUpdateFields,
} from '../../../src/runtime/update-signing';
import { exportPrivateKeyPem, importPrivateKeyPem } from '../../../src/runtime/secure-aggregation-crypto';

const fields: SignedUpdateFields = {
  runId: 'run-1',
  round: 3,
  hospitalId: 'hospital-a',
  baseModelVersionId: 'run-1-r2',
  numExamples: 1200,
  blob: Uint8Array.from({ length: 40 }, (_, i) => i * 7),
};

describe('Ed25519 update signatures', () => {
  const keys = generateSigningKeyPair();
  const enrolled = new Map([['hospital-a', exportSigningPublicKey(keys.publicKey)]]);
  const signature = signUpdate(fields, keys.privateKey);

  it('verifies a signature with the enrolled key (raw base64 or KeyObject)', () => {
    expect(verifyUpdateSignature(fields, signature, enrolled)).toEqual({ ok: true });
    expect(verifyUpdateSignature(fields, signature, new Map([['hospital-a', keys.publicKey]]))).toEqual({
      ok: true,
    });
  });

  it.each([
    ['runId', { runId: 'run-2' }],
    ['round (replay into another round)', { round: 4 }],
    ['baseModelVersionId', { baseModelVersionId: 'run-1-r1' }],
    ['numExamples', { numExamples: 1201 }],
    ['blob length', { blob: fields.blob.subarray(1) }],
  ])('fails when %s changes', (_, change) => {
    const check = verifyUpdateSignature({ ...fields, ...change }, signature, enrolled);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(/signature does not match run/);
  });

  it('fails when any single byte of the blob or the signature is flipped', () => {
    for (let i = 0; i < fields.blob.length; i++) {
      const blob = Uint8Array.from(fields.blob);
      blob[i] ^= 1;
      expect(verifyUpdateSignature({ ...fields, blob }, signature, enrolled).ok).toBe(false);
    }
    const raw = Buffer.from(signature, 'base64');
    for (let i = 0; i < raw.length; i++) {
      const bad = Buffer.from(raw);
      bad[i] ^= 0x80;
      expect(verifyUpdateSignature(fields, bad.toString('base64'), enrolled).ok).toBe(false);
    }
  });

  it('rejects another hospital, an unknown hospital, another key, and unsigned or malformed signatures', () => {
    const other = generateSigningKeyPair();
    const both = new Map([...enrolled, ['hospital-b', exportSigningPublicKey(other.publicKey)]]);
    expect(verifyUpdateSignature({ ...fields, hospitalId: 'hospital-b' }, signature, both)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/does not match/),
    });
    expect(verifyUpdateSignature({ ...fields, hospitalId: 'hospital-z' }, signature, both)).toEqual({
      ok: false,
      reason: 'hospital hospital-z has no enrolled signing key',
    });
    expect(verifyUpdateSignature(fields, signUpdate(fields, other.privateKey), enrolled).ok).toBe(false);
    expect(verifyUpdateSignature(fields, undefined, enrolled)).toEqual({
      ok: false,
      reason: 'update from hospital-a is not signed',
    });
    expect(verifyUpdateSignature(fields, 'bm90IGEgc2lnbmF0dXJl', enrolled)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/64 bytes/),
    });
  });

  it('serializes keys to raw base64 (public) and PEM (private) and refuses non-Ed25519 keys', () => {
    const b64 = exportSigningPublicKey(keys.publicKey);
    expect(Buffer.from(b64, 'base64')).toHaveLength(32);
    expect(importSigningPublicKey(b64).equals(keys.publicKey)).toBe(true);
    const restored = importPrivateKeyPem(exportPrivateKeyPem(keys.privateKey));
    expect(verifyUpdateSignature(fields, signUpdate(fields, restored), enrolled)).toEqual({ ok: true });
    const x = generateKeyPairSync('x25519');
    expect(() => signUpdate(fields, x.privateKey)).toThrow(/Ed25519/);
    expect(() => exportSigningPublicKey(x.publicKey)).toThrow(/Ed25519/);
    expect(verifyUpdateSignature(fields, signature, new Map([['hospital-a', x.publicKey]]))).toMatchObject({
      ok: false,
    });
  });
});
