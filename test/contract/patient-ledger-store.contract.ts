/**
 * The PatientLedgerStore contract, shared by the file store (local cohorts) and the blob store (a
 * hospital's own bucket in the cloud): entries come back oldest first, survive a reopen, are never
 * rewritten, a malformed entry stops enforcement instead of under-counting, and unsafe names are
 * refused. Each test uses its own hospital id, so a shared bucket needs no cleanup between tests.
 */
import { randomUUID } from 'node:crypto';
import type { PatientLedgerEntry } from '../../schemas/patient-ledger';
import { dpSgdPrivacyEvent } from '../../src/core/privacy';
import type { PatientLedgerStore } from '../../src/ports/patient-ledger-store';

export interface PatientLedgerFixture {
  /** A store over the same backing storage each call (a reopen, as the next job would). */
  open(): PatientLedgerStore;
  /** Writes raw bytes where the store keeps the entry `name` of a cohort (to plant a bad entry). */
  plant(hospitalId: string, cohortFingerprint: string, name: string, text: string): Promise<void>;
  cleanup(): Promise<void>;
}

const FINGERPRINT = 'ab'.repeat(32);
const OTHER_FINGERPRINT = 'cd'.repeat(32);

export function ledgerEntry(round: number, chargedAt: string, runId = 'run-a'): PatientLedgerEntry {
  return {
    runId,
    round,
    attempt: `att${round}`,
    chargedAt,
    event: dpSgdPrivacyEvent(0.1, 2, 10),
    noiseMultiplier: 2,
    samplingProbability: 0.1,
    steps: 10,
    exampleClipNorm: 1,
  };
}

export function describePatientLedgerStoreContract(
  name: string,
  makeFixture: () => Promise<PatientLedgerFixture>,
): void {
  describe(`PatientLedgerStore contract: ${name}`, () => {
    let fixture: PatientLedgerFixture;
    let hospital: string;

    beforeEach(async () => {
      fixture = await makeFixture();
      hospital = `h-${randomUUID().slice(0, 8)}`;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('returns entries oldest first, across reopens, per cohort', async () => {
      await fixture.open().append(hospital, FINGERPRINT, ledgerEntry(2, '2025-01-02T00:00:00.000Z'));
      await fixture.open().append(hospital, FINGERPRINT, ledgerEntry(1, '2025-01-01T00:00:00.000Z'));
      await fixture
        .open()
        .append(hospital, OTHER_FINGERPRINT, ledgerEntry(1, '2025-01-03T00:00:00.000Z', 'run-b'));
      const store = fixture.open();
      expect((await store.read(hospital, FINGERPRINT)).map((e) => e.round)).toEqual([1, 2]);
      expect((await store.read(hospital, OTHER_FINGERPRINT)).map((e) => e.runId)).toEqual(['run-b']);
      expect(await store.read(hospital, 'ef'.repeat(32))).toEqual([]);
      const mine = (await store.cohorts()).filter((c) => c.hospitalId === hospital);
      expect(mine).toEqual([
        { hospitalId: hospital, cohortFingerprint: FINGERPRINT },
        { hospitalId: hospital, cohortFingerprint: OTHER_FINGERPRINT },
      ]);
    });

    it('keeps an entry exactly as appended', async () => {
      const entry = ledgerEntry(3, '2025-02-01T00:00:00.000Z');
      await fixture.open().append(hospital, FINGERPRINT, entry);
      expect(await fixture.open().read(hospital, FINGERPRINT)).toEqual([entry]);
    });

    it('never rewrites an entry', async () => {
      const store = fixture.open();
      await store.append(hospital, FINGERPRINT, ledgerEntry(1, '2025-01-01T00:00:00.000Z'));
      await expect(
        store.append(hospital, FINGERPRINT, { ...ledgerEntry(1, '2025-01-01T00:00:00.000Z'), steps: 1 }),
      ).rejects.toThrow(/already exists/);
      expect((await store.read(hospital, FINGERPRINT))[0].steps).toBe(10);
    });

    it('refuses to read a malformed entry rather than under-count', async () => {
      await fixture.open().append(hospital, FINGERPRINT, ledgerEntry(1, '2025-01-01T00:00:00.000Z'));
      await fixture.plant(hospital, FINGERPRINT, 'bad.json', '{"runId": "x"}');
      await expect(fixture.open().read(hospital, FINGERPRINT)).rejects.toThrow(/bad\.json is malformed/);
    });

    it('refuses unsafe hospital ids and fingerprints, and says where a ledger lives', () => {
      const store = fixture.open();
      expect(() => store.describe('../etc', FINGERPRINT)).toThrow(/bad hospital id/);
      expect(() => store.describe(hospital, 'not-a-hash')).toThrow(/bad cohort fingerprint/);
      expect(store.describe(hospital, FINGERPRINT)).toContain(hospital);
      expect(store.describe(hospital, FINGERPRINT)).toContain(FINGERPRINT);
    });
  });
}
