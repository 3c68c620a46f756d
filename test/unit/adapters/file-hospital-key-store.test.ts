import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diffieHellman } from 'node:crypto';
import { FileHospitalKeyStore } from '../../../src/adapters/keys/file-hospital-key-store';
import { importMaskingPublicKey, importPrivateKeyPem } from '../../../src/runtime/secure-aggregation-crypto';

describe('FileHospitalKeyStore', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'himas-keys-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('provisions a key once, keeps it private to the owner, and returns the same key after', async () => {
    const store = new FileHospitalKeyStore(dir);
    const [a, b] = await Promise.all([store.ensureSigningKey('h1'), store.ensureSigningKey('h1')]);
    expect(a).toEqual(b); // concurrent first uses agree on one key
    expect(await new FileHospitalKeyStore(dir).signingKey('h1')).toEqual(a);
    expect(statSync(path.join(dir, 'h1.signing.json')).mode & 0o777).toBe(0o600);
    expect(Buffer.from(a.publicKey, 'base64')).toHaveLength(32);
    expect(await store.ensureSigningKey('h2')).not.toEqual(a);
  });

  it("never creates a key when reading: a missing key file is an error naming the operator's rotate", async () => {
    const store = new FileHospitalKeyStore(dir);
    await expect(store.signingKey('h1')).rejects.toThrow(
      /hospital h1 has no signing key in .*himas hospitals rotate h1/,
    );
    await expect(store.maskingKey('h1')).rejects.toThrow(/has no signing key/);
    expect(existsSync(path.join(dir, 'h1.signing.json'))).toBe(false);
  });

  it('replaces a key on rotation, atomically, leaving only the new one', async () => {
    const store = new FileHospitalKeyStore(dir);
    const old = await store.ensureSigningKey('h1');
    const fresh = await store.replaceSigningKey('h1');
    expect(fresh.publicKey).not.toBe(old.publicKey);
    expect(await new FileHospitalKeyStore(dir).signingKey('h1')).toEqual(fresh);
    expect(statSync(path.join(dir, 'h1.signing.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['h1.signing.json']);
  });

  it('refuses a malformed key file and a hostile hospital id, saying what to do', async () => {
    writeFileSync(path.join(dir, 'h1.signing.json'), '{"privateKeyPem": ""}');
    await expect(new FileHospitalKeyStore(dir).signingKey('h1')).rejects.toThrow(
      /malformed; restore it from the hospital's backup, or have the operator rotate the key \(himas hospitals rotate h1\)/,
    );
    await expect(new FileHospitalKeyStore(dir).signingKey('../etc')).rejects.toThrow(/bad hospital id/);
    expect(readFileSync(path.join(dir, 'h1.signing.json'), 'utf8')).toContain('privateKeyPem');
  });

  it('keeps a separate X25519 masking key per hospital that agrees a shared secret with a peer', async () => {
    const store = new FileHospitalKeyStore(dir);
    await store.ensureSigningKey('h1');
    await store.ensureSigningKey('h2');
    const [a, again] = await Promise.all([store.maskingKey('h1'), store.maskingKey('h1')]);
    expect(again).toEqual(a);
    // Derived from the signing key, so the hospital holds one secret: no second key file.
    expect(existsSync(path.join(dir, 'h1.masking.json'))).toBe(false);
    expect(a.publicKey).not.toBe((await store.signingKey('h1')).publicKey);
    expect(await new FileHospitalKeyStore(dir).maskingKey('h1')).toEqual(a);
    const b = await new FileHospitalKeyStore(dir).maskingKey('h2');
    const ab = diffieHellman({
      privateKey: importPrivateKeyPem(a.privateKeyPem),
      publicKey: importMaskingPublicKey(b.publicKey),
    });
    const ba = diffieHellman({
      privateKey: importPrivateKeyPem(b.privateKeyPem),
      publicKey: importMaskingPublicKey(a.publicKey),
    });
    expect(ab.equals(ba)).toBe(true);
  });
});
