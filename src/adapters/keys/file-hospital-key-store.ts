import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import type {
  HospitalKeyPair,
  HospitalKeyStore,
  HospitalMaskingKey,
  HospitalSigningKey,
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
 * cloud the Secret Manager volume mounted there), created exclusively so two concurrent first jobs
 * of a hospital cannot end up with different keys. The masking key is derived from it.
 */
export class FileHospitalKeyStore implements HospitalKeyStore {
  constructor(private readonly dir: string) {}

  signingKey(hospitalId: string): Promise<HospitalSigningKey> {
    return this.keyFile(hospitalId, 'signing', () => {
      const pair = generateSigningKeyPair();
      return {
        privateKeyPem: exportPrivateKeyPem(pair.privateKey),
        publicKey: exportSigningPublicKey(pair.publicKey),
      };
    });
  }

  /** Derived from the signing key (deriveMaskingKeyPair): one secret per hospital, not two. */
  async maskingKey(hospitalId: string): Promise<HospitalMaskingKey> {
    const pair = deriveMaskingKeyPair((await this.signingKey(hospitalId)).privateKeyPem);
    return {
      privateKeyPem: exportPrivateKeyPem(pair.privateKey),
      publicKey: exportMaskingPublicKey(pair.publicKey),
    };
  }

  private async keyFile(
    hospitalId: string,
    purpose: 'signing' | 'masking',
    generate: () => HospitalKeyPair,
  ): Promise<HospitalKeyPair> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(hospitalId))
      throw new Error(`bad hospital id for a key file: ${hospitalId}`);
    const file = path.join(this.dir, `${hospitalId}.${purpose}.json`);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const fresh = generate();
    try {
      await writeFile(file, JSON.stringify(fresh), { flag: 'wx', mode: 0o600 });
      return fresh;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const parsed = KeyFileSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (!parsed.success)
      throw new Error(`${purpose} key file ${file} is malformed; delete it to re-enrol the hospital`);
    return parsed.data;
  }
}
