import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import type { HospitalKeyStore, HospitalSigningKey } from '../../ports/hospital-keys';
import { exportPrivateKeyPem } from '../../runtime/secure-aggregation-crypto';
import { exportSigningPublicKey, generateSigningKeyPair } from '../../runtime/update-signing';

const KeyFileSchema = z.object({ privateKeyPem: z.string().min(1), publicKey: z.string().min(1) });

/**
 * Signing keys as one file per hospital (`<dir>/<hospital>.signing.json`, mode 0600), created
 * exclusively so two concurrent first jobs of a hospital cannot end up with different keys.
 */
export class FileHospitalKeyStore implements HospitalKeyStore {
  constructor(private readonly dir: string) {}

  async signingKey(hospitalId: string): Promise<HospitalSigningKey> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(hospitalId))
      throw new Error(`bad hospital id for a key file: ${hospitalId}`);
    const file = path.join(this.dir, `${hospitalId}.signing.json`);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const pair = generateSigningKeyPair();
    const fresh: HospitalSigningKey = {
      privateKeyPem: exportPrivateKeyPem(pair.privateKey),
      publicKey: exportSigningPublicKey(pair.publicKey),
    };
    try {
      await writeFile(file, JSON.stringify(fresh), { flag: 'wx', mode: 0o600 });
      return fresh;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const parsed = KeyFileSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (!parsed.success)
      throw new Error(`signing key file ${file} is malformed; delete it to re-enrol the hospital`);
    return parsed.data;
  }
}
