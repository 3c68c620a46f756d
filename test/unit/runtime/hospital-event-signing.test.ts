import { generateSigningKeyPair, exportSigningPublicKey } from '../../../src/runtime/update-signing';
import { signHospitalEvent, verifyHospitalEvent } from '../../../src/runtime/hospital-event-signing';
import { entrySha256, signLedgerEntry, verifyLedgerChain } from '../../../src/runtime/ledger-signing';
import { makeEvent } from '../../../src/services/event-publishing';
import { HimasEventSchema } from '../../../schemas/events';
import type { LedgerEntry, SignedLedgerEntry } from '../../../schemas/privacy-ledger';
import { binRisks } from '../../../src/core/evaluation/risk-histogram';

const evaluationEvent = (hospitalId = 'h1', runId = 'r1') =>
  makeEvent('evaluation.reported', {
    id: `evaluation:v1:${hospitalId}`,
    runId,
    round: 0,
    time: new Date('2026-01-01T00:00:00Z'),
    data: {
      hospitalId,
      modelVersionId: 'v1',
      histogram: binRisks([0, 1, 1], [0.2, 0.7, 0.9]),
      privacy: { unit: 'patient', noiseMultiplier: 4, l2Sensitivity: 1, epsilon: 1, delta: 1e-5 },
    },
  });

describe('hospital event signatures', () => {
  const pair = generateSigningKeyPair();
  const publicKey = exportSigningPublicKey(pair.publicKey);

  it('verifies a signed event after a round trip through JSON, whatever the key order', () => {
    const signed = signHospitalEvent(evaluationEvent(), pair.privateKey);
    const parsed = HimasEventSchema.parse(JSON.parse(JSON.stringify(signed)));
    expect(parsed.specVersion).toBe('1.1');
    expect(verifyHospitalEvent(parsed as typeof signed, publicKey)).toEqual({ ok: true });
    const reordered = Object.fromEntries(Object.entries(signed).reverse()) as typeof signed;
    expect(verifyHospitalEvent(reordered, publicKey)).toEqual({ ok: true });
  });

  it.each([
    ['a count edited', (e: ReturnType<typeof evaluationEvent>) => void (e.data.histogram.positives[0] += 1)],
    ['moved to another run', (e: ReturnType<typeof evaluationEvent>) => void (e.runId = 'r2')],
    ['moved to another round', (e: ReturnType<typeof evaluationEvent>) => void (e.round = 3)],
    [
      'renamed to another hospital',
      (e: ReturnType<typeof evaluationEvent>) => void (e.data.hospitalId = 'h2'),
    ],
    ['re-identified', (e: ReturnType<typeof evaluationEvent>) => void (e.id = 'other')],
  ])('refuses an event %s after signing', (_, edit) => {
    const signed = structuredClone(signHospitalEvent(evaluationEvent(), pair.privateKey));
    edit(signed);
    const check = verifyHospitalEvent(signed, publicKey);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(/is not signed by h\d's enrolled key/);
  });

  it('refuses an unsigned event, a malformed signature and another key', () => {
    expect(verifyHospitalEvent(evaluationEvent(), publicKey)).toEqual({
      ok: false,
      reason: 'evaluation.reported from h1 is not signed (envelope signature missing)',
    });
    expect(verifyHospitalEvent({ ...evaluationEvent(), signature: 'AAAA' }, publicKey)).toMatchObject({
      ok: false,
      reason: 'envelope signature is not 64 bytes of base64',
    });
    const other = generateSigningKeyPair();
    const byOther = signHospitalEvent(evaluationEvent(), other.privateKey);
    expect(verifyHospitalEvent(byOther, publicKey).ok).toBe(false);
    expect(verifyHospitalEvent(byOther, exportSigningPublicKey(other.publicKey)).ok).toBe(true);
  });
});

describe('ledger chains across key rotations', () => {
  const entry = (sequence: number, previous: SignedLedgerEntry | null): LedgerEntry => ({
    version: 1,
    hospitalId: 'h1',
    sequence,
    previousSha256: previous ? entrySha256(previous.entry) : null,
    chargedAt: `2026-01-0${sequence + 1}T00:00:00.000Z`,
    runId: 'r1',
    kind: sequence === 0 ? 'reservation' : 'use',
    slots: [`train:${sequence}`],
    mechanisms: [],
    delta: 1e-5,
    budgetEpsilon: 10,
    targetEpsilon: 1,
    declaredTrainStays: null,
  });
  const old = generateSigningKeyPair();
  const fresh = generateSigningKeyPair();
  const oldKey = exportSigningPublicKey(old.publicKey);
  const freshKey = exportSigningPublicKey(fresh.publicKey);

  function chain(signers: Array<typeof old>): SignedLedgerEntry[] {
    const entries: SignedLedgerEntry[] = [];
    for (const [i, signer] of signers.entries())
      entries.push(signLedgerEntry(entry(i, entries.at(-1) ?? null), signer.privateKey));
    return entries;
  }

  it('verifies entries signed by the retired key then the current one', () => {
    const entries = chain([old, old, fresh]);
    expect(verifyLedgerChain({ hospitalId: 'h1', signingPublicKey: freshKey, entries })).toMatchObject({
      ok: false,
      reason: "entry 0 is not signed by h1's key",
    });
    expect(
      verifyLedgerChain({
        hospitalId: 'h1',
        signingPublicKey: freshKey,
        previousSigningPublicKeys: [oldKey],
        entries,
      }),
    ).toEqual({ ok: true });
  });

  it('refuses an entry the retired key appended after the current key signed', () => {
    const entries = chain([old, fresh, old]);
    expect(
      verifyLedgerChain({
        hospitalId: 'h1',
        signingPublicKey: freshKey,
        previousSigningPublicKeys: [oldKey],
        entries,
      }),
    ).toEqual({ ok: false, reason: "entry 2 is not signed by h1's key" });
  });

  describe('frozen entries (as the ledger store shares them) verified before', () => {
    const frozen = (entries: SignedLedgerEntry[]) =>
      entries.map((e) => Object.freeze({ ...e, entry: Object.freeze({ ...e.entry }) }));

    it('still fail under a key they were never verified under', () => {
      const entries = frozen(chain([old, old]));
      expect(verifyLedgerChain({ hospitalId: 'h1', signingPublicKey: oldKey, entries })).toEqual({
        ok: true,
      });
      expect(verifyLedgerChain({ hospitalId: 'h1', signingPublicKey: freshKey, entries })).toMatchObject({
        ok: false,
      });
    });

    it('still respect the rotation order: a retired key cannot follow the current one', () => {
      const keys = { hospitalId: 'h1', signingPublicKey: freshKey, previousSigningPublicKeys: [oldKey] };
      const good = frozen(chain([old, fresh, fresh]));
      expect(verifyLedgerChain({ ...keys, entries: good })).toEqual({ ok: true });
      expect(verifyLedgerChain({ ...keys, entries: good })).toEqual({ ok: true });
      // Entries 0 and 1 were verified above; a retired-key entry after them is still refused, twice.
      const bad = [...good.slice(0, 2), ...frozen(chain([old, fresh, old])).slice(2)];
      const relinked = verifyLedgerChain({ ...keys, entries: frozen(chain([old, fresh, old])) });
      expect(relinked).toEqual({ ok: false, reason: "entry 2 is not signed by h1's key" });
      expect(verifyLedgerChain({ ...keys, entries: bad })).toMatchObject({ ok: false });
    });

    it('still have their numbering and links checked: dropping or reordering verified entries is caught', () => {
      const entries = frozen(chain([old, old, old]));
      const keys = { hospitalId: 'h1', signingPublicKey: oldKey };
      expect(verifyLedgerChain({ ...keys, entries })).toEqual({ ok: true });
      expect(verifyLedgerChain({ ...keys, entries: [entries[0], entries[2]] })).toEqual({
        ok: false,
        reason: 'entry 1 is numbered 2',
      });
      expect(verifyLedgerChain({ ...keys, entries: [entries[1], entries[0]] })).toMatchObject({ ok: false });
      expect(verifyLedgerChain({ ...keys, hospitalId: 'h2', entries })).toMatchObject({ ok: false });
    });
  });
});
