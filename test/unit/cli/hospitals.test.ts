import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditRecordSchema, HospitalEnrolmentSchema, paths } from '../../../schemas/documents';
import { FileHospitalKeyStore } from '../../../src/adapters/keys/file-hospital-key-store';
import { hospitalsCommand } from '../../../src/cli/commands/hospitals';
import { UserError } from '../../../src/cli/user-error';
import { openEmbeddedPlatform } from '../../../src/local/embedded-platform';

jest.setTimeout(60_000);

/** Runs `himas hospitals …` in this process and returns its exit code and stdout. */
async function hospitals(home: string, args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    const code = await hospitalsCommand.run([...args, '--home', home]);
    return { code, out };
  } finally {
    spy.mockRestore();
  }
}

async function readStore<T>(
  home: string,
  fn: (documents: import('../../../src/ports/document-store').DocumentStore) => Promise<T>,
) {
  const platform = await openEmbeddedPlatform({
    home,
    dataDir: '',
    logger: { write: () => undefined },
    withAggregator: false,
  });
  try {
    return await fn(platform.stack.documents);
  } finally {
    await platform.close();
  }
}

describe('himas hospitals (operator-only identities)', () => {
  let home: string;
  beforeEach(() => (home = mkdtempSync(path.join(os.tmpdir(), 'himas-hospitals-'))));
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('enrols a simulated hospital once, rotates its key keeping the old one on record, and revokes it', async () => {
    const enrolled = await hospitals(home, ['enrol', 'h1']);
    expect(enrolled).toMatchObject({ code: 0 });
    expect(enrolled.out).toMatch(/^enrolled h1 \(signing key [0-9a-f]{12}\)\n$/);
    expect((await hospitals(home, ['enrol', 'h1'])).out).toMatch(/h1 is already enrolled under these keys/);
    const firstKey = (await new FileHospitalKeyStore(path.join(home, 'keys')).signingKey('h1')).publicKey;

    expect((await hospitals(home, ['rotate', 'h1'])).out).toMatch(/rotated h1's keys \(1 retired\)/);
    const secondKey = (await new FileHospitalKeyStore(path.join(home, 'keys')).signingKey('h1')).publicKey;
    expect(secondKey).not.toBe(firstKey);

    await expect(hospitals(home, ['revoke', 'h1'])).rejects.toThrow(
      'himas hospitals revoke needs --reason TEXT',
    );
    expect((await hospitals(home, ['revoke', 'h1', '--reason', 'key compromised'])).out).toMatch(
      /^revoked h1/,
    );
    const listed = await hospitals(home, ['list']);
    expect(listed.out).toMatch(
      /^h1\s+revoked .*\(key compromised\) key [0-9a-f]{12} since .*, 1 retired key\(s\)\n$/,
    );

    // A revoked id is given no new key, and its key file is left alone.
    await expect(hospitals(home, ['rotate', 'h1'])).rejects.toThrow(
      /h1 is revoked; a revoked id is not given new keys/,
    );
    expect(readFileSync(path.join(home, 'keys', 'h1.signing.json'), 'utf8')).toContain(secondKey);
    await expect(hospitals(home, ['enrol', 'h1'])).rejects.toThrow(
      /was revoked .* enrol the hospital under a new id/,
    );

    const { enrolment, audits } = await readStore(home, async (documents) => ({
      enrolment: HospitalEnrolmentSchema.parse(await documents.get(paths.hospital('h1'))),
      audits: (await documents.list(paths.audits())).map((s) => AuditRecordSchema.parse(s.data)),
    }));
    expect(enrolment).toMatchObject({
      enabled: false,
      signingPublicKey: secondKey,
      revocationReason: 'key compromised',
    });
    expect(enrolment.previousKeys).toEqual([
      expect.objectContaining({ signingPublicKey: firstKey, validUntil: enrolment.keyValidFrom }),
    ]);
    expect(audits.map((a) => a.action).sort()).toEqual([
      'hospital.enrolled',
      'hospital.key-rotated',
      'hospital.revoked',
    ]);
    for (const a of audits) expect(a.actor).toMatch(/^operator:/);
  });

  it("enrols a hospital's own public keys given out of band, and refuses bad or partial keys", async () => {
    const keys = new FileHospitalKeyStore(path.join(home, 'elsewhere'));
    const signing = (await keys.ensureSigningKey('h9')).publicKey;
    const masking = (await keys.maskingKey('h9')).publicKey;
    expect(
      (await hospitals(home, ['enrol', 'h9', '--signing-key', signing, '--masking-key', masking])).code,
    ).toBe(0);
    const json = JSON.parse((await hospitals(home, ['list', '--json'])).out);
    // What the hospital sends: the enrol flags printed from its own key folder, nothing written.
    const printed = await hospitals(home, ['public-keys', 'h9', '--keys-dir', path.join(home, 'elsewhere')]);
    expect(printed.out).toBe(`--signing-key ${signing} --masking-key ${masking}\n`);
    expect(printed.out).not.toMatch(/PRIVATE/);
    await expect(
      hospitals(home, ['public-keys', 'h5', '--keys-dir', path.join(home, 'elsewhere')]),
    ).rejects.toThrow(/hospital h5 has no signing key/);
    expect(json).toEqual([
      expect.objectContaining({ hospitalId: 'h9', signingPublicKey: signing, maskingPublicKey: masking }),
    ]);
    await expect(hospitals(home, ['enrol', 'h8', '--signing-key', signing])).rejects.toThrow(
      '--signing-key and --masking-key go together',
    );
    await expect(
      hospitals(home, ['enrol', 'h8', '--signing-key', 'bm90LWEta2V5', '--masking-key', masking]),
    ).rejects.toThrow('the signing key of h8 is not a raw Ed25519 public key (32 bytes, base64)');
    // Someone else's key for an enrolled id is a rotation, never a silent re-enrolment.
    const other = new FileHospitalKeyStore(path.join(home, 'other'));
    const otherSigning = (await other.ensureSigningKey('h9')).publicKey;
    const otherMasking = (await other.maskingKey('h9')).publicKey;
    await expect(
      hospitals(home, ['enrol', 'h9', '--signing-key', otherSigning, '--masking-key', otherMasking]),
    ).rejects.toThrow(
      'hospital h9 is already enrolled under another signing key; to give it a new key use: himas hospitals rotate h9',
    );
  });

  it('says what is wrong with the command line, in one line', async () => {
    await expect(hospitals(home, [])).rejects.toThrow(
      'himas hospitals needs an action: enrol, rotate, revoke, list, public-keys',
    );
    await expect(hospitals(home, ['enroll', 'h1'])).rejects.toThrow(/unknown action 'enroll'.*enrol/);
    await expect(hospitals(home, ['rotate'])).rejects.toThrow('himas hospitals rotate needs a HOSPITAL id');
    await expect(hospitals(home, ['rotate', 'h7'])).rejects.toThrow(/hospital h7 is not enrolled/);
    await expect(hospitals(home, ['enrol', '../etc'])).rejects.toThrow(
      /bad hospital id '..\/etc': letters, digits/,
    );
    await expect(hospitals(home, ['enrol', '../etc'])).rejects.toBeInstanceOf(UserError);
    expect((await hospitals(home, ['list'])).out).toBe(
      'no hospital is enrolled yet (himas hospitals enrol HOSPITAL)\n',
    );
    // In the cloud the operator gives the hospital's public keys; the stack comes from the environment.
    await expect(hospitals(home, ['enrol', 'h1', '--stack', 'gcp'])).rejects.toThrow(
      "himas hospitals enrol --stack gcp needs the hospital's --signing-key and --masking-key",
    );
    const savedProject = process.env.HIMAS_PROJECT;
    delete process.env.HIMAS_PROJECT;
    try {
      await expect(hospitals(home, ['list', '--stack', 'gcp'])).rejects.toThrow(
        /^--stack gcp: stack configuration: HIMAS_PROJECT is not set/,
      );
    } finally {
      if (savedProject !== undefined) process.env.HIMAS_PROJECT = savedProject;
    }
    expect((await hospitals(home, ['--help'])).out).toMatch(
      /^Usage: himas hospitals <enrol\|rotate\|revoke\|list>/,
    );
  });
});
