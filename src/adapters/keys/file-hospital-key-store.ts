import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import {
  MissingHospitalKeyError,
  type HospitalKeyPair,
  type HospitalKeyProvisioner,
  type HospitalMaskingKey,
  type HospitalSigningKey,
} from '../../ports/hospital-keys';
import {
  deriveMaskingKeyPair,
  exportMaskingPublicKey,
  exportPrivateKeyPem,
} from '../../runtime/secure-aggregation-crypto';
import { exportSigningPublicKey, generateSigningKeyPair } from '../../runtime/update-signing';

const KeyFileSchema = z.object({ privateKeyPem: z.string().min(1), publicKey: z.string().min(1) });

/**
 * The signing key as one file per hospital (`<dir>/<hospital>.signing.json`, mode 0600; in the
 * cloud the Secret Manager volume mounted there). Reading never creates a key: a job whose key file
 * is gone fails (MissingHospitalKeyError) rather than inventing an identity the operator never
 * enrolled. Provisioning creates it exclusively (two concurrent first uses agree on one key) and a
 * rotation replaces it atomically. The masking key is derived from it.
 */
export class FileHospitalKeyStore implements HospitalKeyProvisioner {
  constructor(private readonly dir: string) {}

  async signingKey(hospitalId: string): Promise<HospitalSigningKey> {
    const existing = await this.readKeyFile(hospitalId);
    if (existing === undefined) throw new MissingHospitalKeyError(hospitalId, this.dir);
    return existing;
  }

  async ensureSigningKey(hospitalId: string): Promise<HospitalSigningKey> {
    const file = await this.prepare(hospitalId);
    const fresh = newSigningKey();
    try {
      await writeFile(file, JSON.stringify(fresh), { flag: 'wx', mode: 0o600 });
      return fresh;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return this.signingKey(hospitalId);
  }

  async replaceSigningKey(hospitalId: string): Promise<HospitalSigningKey> {
    const file = await this.prepare(hospitalId);
    const fresh = newSigningKey();
    // Written aside, then renamed over: a crash leaves the old key or the new one, never half a file.
    const temporary = `${file}.${randomUUID().slice(0, 8)}.tmp`;
    await writeFile(temporary, JSON.stringify(fresh), { flag: 'wx', mode: 0o600 });
    await rename(temporary, file);
    return fresh;
  }

  /** Derived from the signing key (deriveMaskingKeyPair): one secret per hospital, not two. */
  async maskingKey(hospitalId: string): Promise<HospitalMaskingKey> {
    const pair = deriveMaskingKeyPair((await this.signingKey(hospitalId)).privateKeyPem);
    return {
      privateKeyPem: exportPrivateKeyPem(pair.privateKey),
      publicKey: exportMaskingPublicKey(pair.publicKey),
    };
  }

  private async prepare(hospitalId: string): Promise<string> {
    const file = this.fileOf(hospitalId);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    return file;
  }

  private fileOf(hospitalId: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(hospitalId))
      throw new Error(`bad hospital id for a key file: ${hospitalId}`);
    return path.join(this.dir, `${hospitalId}.signing.json`);
  }

  private async readKeyFile(hospitalId: string): Promise<HospitalKeyPair | undefined> {
    const file = this.fileOf(hospitalId);
    let text: string;
    try {
      // A few hundred bytes, read by every job: synchronously it costs microseconds, through
      // fs/promises' thread-pool round trips about 300 µs (see FileBlobStore's SMALL_BLOB_BYTES).
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = KeyFileSchema.safeParse(json);
    if (!parsed.success)
      throw new Error(
        `signing key file ${file} is malformed; restore it from the hospital's backup, or have the operator rotate the key (himas hospitals rotate ${hospitalId})`,
      );
    return parsed.data;
  }
}

function newSigningKey(): HospitalKeyPair {
  const pair = generateSigningKeyPair();
  return {
    privateKeyPem: exportPrivateKeyPem(pair.privateKey),
    publicKey: exportSigningPublicKey(pair.publicKey),
  };
}
