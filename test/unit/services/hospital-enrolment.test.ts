import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { paths, type HospitalEnrolment } from '../../../schemas/documents';
import { openEmbeddedStack, type EmbeddedStack } from '../../../src/adapters/embedded';
import { FileHospitalKeyStore } from '../../../src/adapters/keys/file-hospital-key-store';
import { signingKeyAt, verifySender } from '../../../src/services/enrolled-keys';
import {
  EnrolmentError,
  enrolHospital,
  listHospitals,
  publicKeysOf,
  revokeHospital,
  rotateHospitalKeys,
} from '../../../src/services/hospital-enrolment';
import { hospitalEventSigner } from '../../../src/runtime/hospital-event-signing';
import { makeEvent } from '../../../src/services/event-publishing';
import { maskingDirectory } from '../../../src/services/masking-directory';
import { exportMaskingPublicKey } from '../../../src/runtime/secure-aggregation-crypto';
import { manualClock } from './service-fixture';

describe('signingKeyAt (which key speaks for a hospital when)', () => {
  const enrolment: HospitalEnrolment = {
    hospitalId: 'h1',
    signingPublicKey: 'KEY3',
    enrolledAt: '2026-01-01T00:00:00.000Z',
    keyValidFrom: '2026-03-01T00:00:00.000Z',
    enabled: true,
    previousKeys: [
      {
        signingPublicKey: 'KEY1',
        validFrom: '2026-01-01T00:00:00.000Z',
        validUntil: '2026-02-01T00:00:00.000Z',
      },
      {
        signingPublicKey: 'KEY2',
        validFrom: '2026-02-01T00:00:00.000Z',
        validUntil: '2026-03-01T00:00:00.000Z',
      },
    ],
    revokedAt: null,
    revocationReason: null,
  };
  const at = (iso: string) => signingKeyAt(enrolment, new Date(iso));

  it('picks the key whose validity holds the time, boundaries half-open', () => {
    expect(at('2026-01-15T00:00:00Z')).toEqual({ ok: true, signingPublicKey: 'KEY1' });
    expect(at('2026-02-01T00:00:00Z')).toEqual({ ok: true, signingPublicKey: 'KEY2' });
    expect(at('2026-03-01T00:00:00Z')).toEqual({ ok: true, signingPublicKey: 'KEY3' });
    expect(at('2027-01-01T00:00:00Z')).toEqual({ ok: true, signingPublicKey: 'KEY3' });
  });

  it('has no key before the enrolment, and none at all once revoked', () => {
    expect(at('2025-12-31T00:00:00Z')).toEqual({
      ok: false,
      reason: 'no key of hospital h1 was valid at 2025-12-31T00:00:00.000Z',
    });
    const revoked = {
      ...enrolment,
      enabled: false,
      revokedAt: '2026-04-01T00:00:00.000Z',
      revocationReason: 'left',
    };
    expect(signingKeyAt(revoked, new Date('2026-03-15T00:00:00Z'))).toEqual({
      ok: false,
      reason: 'hospital h1 is revoked since 2026-04-01T00:00:00.000Z (left): its messages are refused',
    });
  });
});

describe('operator enrolment', () => {
  let home: string;
  let stack: EmbeddedStack;
  let keys: FileHospitalKeyStore;
  const clock = manualClock(new Date('2026-01-01T00:00:00Z'));
  const deps = () => ({ documents: stack.documents, clock, operator: 'operator:test' });
  beforeEach(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'himas-enrolment-'));
    stack = await openEmbeddedStack(home);
    keys = new FileHospitalKeyStore(path.join(home, 'keys'));
  });
  afterEach(async () => {
    await stack.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('rotation keeps the retired key verifiable for what it signed before, never after', async () => {
    await keys.ensureSigningKey('h1');
    await enrolHospital(deps(), 'h1', await publicKeysOf(keys, 'h1'));
    const event = () =>
      makeEvent('seeds.revealed', {
        id: 's',
        runId: 'r',
        round: 1,
        time: clock.now(),
        data: {
          hospitalId: 'h1',
          reveal: { kind: 'reveal', runId: 'r', round: 1, hospitalId: 'h1', reveals: [], signature: 'AAAA' },
        },
      });
    const signedByOld = hospitalEventSigner((await keys.signingKey('h1')).privateKeyPem)(event());
    clock.advance(60_000);
    const rotatedAt = clock.now();
    await keys.replaceSigningKey('h1');
    const change = await rotateHospitalKeys(deps(), 'h1', await publicKeysOf(keys, 'h1'));
    expect(change.enrolment.previousKeys).toEqual([
      expect.objectContaining({ validFrom: '2026-01-01T00:00:00.000Z', validUntil: rotatedAt.toISOString() }),
    ]);
    // Received before the rotation: the old key speaks. After it: refused.
    expect((await verifySender(stack.documents, signedByOld, new Date(rotatedAt.getTime() - 1))).ok).toBe(
      true,
    );
    expect((await verifySender(stack.documents, signedByOld, rotatedAt)).ok).toBe(false);
    const signedByNew = hospitalEventSigner((await keys.signingKey('h1')).privateKeyPem)(event());
    expect((await verifySender(stack.documents, signedByNew, rotatedAt)).ok).toBe(true);
    // A rotation back to a key used before is refused.
    await expect(rotateHospitalKeys(deps(), 'h1', { ...(await publicKeysOf(keys, 'h1')) })).rejects.toThrow(
      'hospital h1 has used this signing key before; a rotation needs a new key',
    );
  });

  it("a masked round's directory follows the enrolment: the keys valid then, and none for the revoked or unknown", async () => {
    await keys.ensureSigningKey('h1');
    await keys.ensureSigningKey('h2');
    const first = await publicKeysOf(keys, 'h1');
    await enrolHospital(deps(), 'h1', first);
    await enrolHospital(deps(), 'h2', await publicKeysOf(keys, 'h2'));
    const before = clock.now();
    clock.advance(60_000);
    await keys.replaceSigningKey('h1');
    const second = await publicKeysOf(keys, 'h1');
    await rotateHospitalKeys(deps(), 'h1', second);
    const masking = async (at: Date) =>
      exportMaskingPublicKey(
        (await maskingDirectory(stack.documents, ['h1', 'h2'], at)).get('h1')!.identityMaskingPublicKey,
      );
    expect(second.maskingPublicKey).not.toBe(first.maskingPublicKey);
    // Before the rotation the retired pair speaks for h1, from it on the new one.
    expect(await masking(before)).toBe(first.maskingPublicKey);
    expect(await masking(clock.now())).toBe(second.maskingPublicKey);
    await expect(maskingDirectory(stack.documents, ['h1', 'h3'], clock.now())).rejects.toThrow(
      'hospital h3 is not enrolled',
    );
    await revokeHospital(deps(), 'h2', 'left the network');
    await expect(maskingDirectory(stack.documents, ['h1', 'h2'], clock.now())).rejects.toThrow(
      /hospital h2 is revoked .*left the network/,
    );
  });

  it('refuses to enrol over another key, to rotate the unknown or the revoked, and audits each change', async () => {
    await keys.ensureSigningKey('h1');
    const mine = await publicKeysOf(keys, 'h1');
    expect((await enrolHospital(deps(), 'h1', mine)).changed).toBe(true);
    expect((await enrolHospital(deps(), 'h1', mine)).changed).toBe(false);
    const other = new FileHospitalKeyStore(path.join(home, 'other'));
    await other.ensureSigningKey('h1');
    await expect(enrolHospital(deps(), 'h1', await publicKeysOf(other, 'h1'))).rejects.toBeInstanceOf(
      EnrolmentError,
    );
    await expect(rotateHospitalKeys(deps(), 'h2', mine)).rejects.toThrow(
      /h2 is not enrolled, so it has no key to rotate/,
    );
    expect((await revokeHospital(deps(), 'h1', 'test')).changed).toBe(true);
    expect((await revokeHospital(deps(), 'h1', 'again')).changed).toBe(false);
    await expect(rotateHospitalKeys(deps(), 'h1', await publicKeysOf(other, 'h1'))).rejects.toThrow(
      /revoked/,
    );
    expect((await listHospitals(stack.documents)).map((h) => [h.hospitalId, h.enabled])).toEqual([
      ['h1', false],
    ]);
    const audits = (await stack.documents.list(paths.audits())).map((a) => [a.data.actor, a.data.action]);
    expect(audits.sort()).toEqual(
      [
        ['operator:test', 'hospital.enrolled'],
        ['operator:test', 'hospital.revoked'],
      ].sort(),
    );
  });
});
