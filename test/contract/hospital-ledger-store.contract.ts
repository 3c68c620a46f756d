/**
 * The HospitalLedgerStore contract, shared by a hospital's local state folder and its own bucket in
 * the cloud (and the published mirror): entries come back in sequence order and survive a reopen,
 * an entry number is taken once (of concurrent appends exactly one wins), nothing is rewritten, and
 * a gap or a malformed entry stops enforcement instead of under-counting. Each test uses its own
 * hospital id, so a shared bucket needs no cleanup between tests.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import type { LedgerEntry } from '../../schemas/privacy-ledger';
import { dpSgdPrivacyEvent } from '../../src/core/privacy';
import type { HospitalLedgerStore } from '../../src/ports/hospital-ledger-store';
import { entrySha256, signLedgerEntry } from '../../src/runtime/ledger-signing';

export interface HospitalLedgerFixture {
  /** A store over the same backing storage each call (a reopen, as the next job would). */
  open(): HospitalLedgerStore;
  /** Writes raw bytes where the store keeps entry `sequence` of a hospital (to plant a bad one). */
  plant(hospitalId: string, sequence: number, text: string): Promise<void>;
  cleanup(): Promise<void>;
}

const key: KeyObject = generateKeyPairSync('ed25519').privateKey;

export function ledgerEntry(
  hospitalId: string,
  sequence: number,
  previous: LedgerEntry | null,
  runId = 'run-a',
): LedgerEntry {
  const event = dpSgdPrivacyEvent(0.1, 2, 10);
  return {
    version: 1,
    hospitalId,
    sequence,
    previousSha256: previous ? entrySha256(previous) : null,
    chargedAt: new Date(Date.UTC(2026, 10, 1, 0, sequence)).toISOString(),
    runId,
    kind: sequence === 0 ? 'reservation' : 'use',
    slots: sequence === 0 ? [] : [`train:${sequence}`],
    mechanisms:
      sequence === 0
        ? [
            {
              mechanism: 'dp-sgd',
              partitions: ['train'],
              slot: 'train',
              uses: 3,
              perUse: event,
              event: dpSgdPrivacyEvent(0.1, 2, 30),
              noiseMultiplier: 2,
              l2Sensitivity: 1,
              samplingProbability: 0.1,
              stepsPerUse: 10,
            },
          ]
        : [],
    delta: 1e-5,
    budgetEpsilon: 3,
    targetEpsilon: 1,
    declaredTrainStays: sequence === 0 ? 1500 : null,
  };
}

export function describeHospitalLedgerStoreContract(
  name: string,
  makeFixture: () => Promise<HospitalLedgerFixture>,
): void {
  describe(`HospitalLedgerStore contract: ${name}`, () => {
    let fixture: HospitalLedgerFixture;
    let hospital: string;

    beforeEach(async () => {
      fixture = await makeFixture();
      hospital = `h-${randomUUID().slice(0, 8)}`;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    test('an empty ledger reads as no entries; appended entries come back in order after a reopen', async () => {
      expect(await fixture.open().read(hospital)).toEqual([]);
      const e0 = ledgerEntry(hospital, 0, null);
      const e1 = ledgerEntry(hospital, 1, e0);
      expect(await fixture.open().append(hospital, signLedgerEntry(e0, key))).toBe(true);
      expect(await fixture.open().append(hospital, signLedgerEntry(e1, key))).toBe(true);
      const read = await fixture.open().read(hospital);
      expect(read.map((s) => s.entry)).toEqual([e0, e1]);
      expect(await fixture.open().hospitals()).toContain(hospital);
    });

    test('an entry number is taken once: a second append of that number is refused and changes nothing', async () => {
      const e0 = ledgerEntry(hospital, 0, null);
      const other = { ...ledgerEntry(hospital, 0, null, 'run-other') };
      expect(await fixture.open().append(hospital, signLedgerEntry(e0, key))).toBe(true);
      expect(await fixture.open().append(hospital, signLedgerEntry(other, key))).toBe(false);
      expect((await fixture.open().read(hospital)).map((s) => s.entry.runId)).toEqual(['run-a']);
    });

    test('of concurrent appends of the same number exactly one wins', async () => {
      const store = fixture.open();
      const attempts = Array.from({ length: 8 }, (_, i) =>
        store.append(hospital, signLedgerEntry(ledgerEntry(hospital, 0, null, `run-${i}`), key)),
      );
      const won = (await Promise.all(attempts)).filter(Boolean);
      expect(won).toHaveLength(1);
      expect(await fixture.open().read(hospital)).toHaveLength(1);
    });

    test('a gap in the numbering stops enforcement (an entry was lost)', async () => {
      const e0 = ledgerEntry(hospital, 0, null);
      await fixture.open().append(hospital, signLedgerEntry(e0, key));
      const e1 = ledgerEntry(hospital, 1, e0);
      await fixture.open().append(hospital, signLedgerEntry(ledgerEntry(hospital, 2, e1), key));
      await expect(fixture.open().read(hospital)).rejects.toThrow(
        /no entry 1 but has entry 2.*refusing to under-count/,
      );
    });

    test('a malformed entry stops enforcement instead of being skipped', async () => {
      await fixture.plant(hospital, 0, '{"entry": {"sequence": 0}, "signature": "x"}');
      await expect(fixture.open().read(hospital)).rejects.toThrow(/malformed.*refusing to under-count/);
      await fixture.plant(hospital, 0, 'not json');
      await expect(fixture.open().read(hospital)).rejects.toThrow(/not JSON.*refusing to under-count/);
    });

    test("an entry of another hospital cannot be appended to this hospital's ledger", async () => {
      await expect(
        fixture.open().append(hospital, signLedgerEntry(ledgerEntry('someone-else', 0, null), key)),
      ).rejects.toThrow(/cannot go into/);
    });

    test('unsafe hospital ids are refused', async () => {
      await expect(fixture.open().read('../escape')).rejects.toThrow(/bad hospital id/);
    });
  });
}
