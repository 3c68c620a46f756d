import type { LedgerMechanism } from '../../schemas/privacy-ledger';
import { compareToClean, type RunSnapshot } from './run-snapshot';

/**
 * The chaos suite's ledger assertion: a chaos run's hospital ledger may hold more than the clean
 * run's charges only as repeats of them, priced as one more use of what the run reserved; a job
 * killed after charging must have that charge repeated; the final model's patient guarantee must
 * cover each hospital's run total. Each guard is fed the input that trips it.
 */
const event = { kind: 'rdp', epsilon: null } as unknown as LedgerMechanism['event'];
const training: LedgerMechanism = {
  mechanism: 'unprotected-training',
  partitions: ['train'],
  slot: 'train',
  uses: 2,
  perUse: event,
  event,
  noiseMultiplier: 0,
  l2Sensitivity: null,
  samplingProbability: null,
  stepsPerUse: null,
};
const oneMoreUse = { ...training, uses: 1, event: training.perUse };
const charge = (slots: string[], mechanisms: LedgerMechanism[] = [], kind = 'use') =>
  JSON.stringify({ kind, slots, mechanisms });

function snapshot(
  charges: string[],
  patientEpsilon: number | null = null,
  ledgerEpsilon: number | null = null,
): RunSnapshot {
  return {
    status: 'completed',
    ledger: [],
    rounds: [],
    receipts: [],
    versions: [{ round: 2, participants: ['h1'], privacy: [{ unit: 'patient', epsilon: patientEpsilon }] }],
    charges: { h1: charges },
    reserved: { h1: [training] },
    ledgerEpsilon: { h1: ledgerEpsilon },
  };
}

const clean = snapshot([charge([], [training], 'reservation'), charge(['train:1']), charge(['train:2'])]);

describe('compareToClean: hospital ledgers', () => {
  it('counts a retry that paid one more use of the reserved mechanism as a charged retry', () => {
    const chaos = snapshot([...clean.charges.h1!, charge(['train:1'], [oneMoreUse])]);
    expect(compareToClean(clean, chaos, [{ hospitalId: 'h1', slots: ['train:1'] }])).toEqual({
      problems: [],
      chargedRetries: 1,
    });
  });

  it('refuses an extra charge priced as anything but one more use', () => {
    const cheaper = charge(['train:1'], [{ ...oneMoreUse, noiseMultiplier: 5 }]);
    const free = charge(['train:3']);
    const result = compareToClean(clean, snapshot([...clean.charges.h1!, cheaper, free]));
    expect(result.chargedRetries).toBe(0);
    expect(result.problems).toEqual([
      `h1's ledger holds a charge that repeats no clean charge: ${cheaper}`,
      `h1's ledger holds a charge that repeats no clean charge: ${free}`,
    ]);
  });

  it('refuses a second reservation and a missing clean charge', () => {
    const result = compareToClean(
      clean,
      snapshot([clean.charges.h1![0]!, clean.charges.h1![0]!, charge(['train:1'])]),
    );
    expect(result.problems).toEqual([
      `h1's ledger lacks the clean run's charge ${charge(['train:2'])}`,
      `h1's ledger holds a charge that repeats no clean charge: ${clean.charges.h1![0]}`,
    ]);
  });

  it('requires the repeat of a charge whose job was killed after paying it', () => {
    const result = compareToClean(clean, snapshot(clean.charges.h1!), [
      { hospitalId: 'h1', slots: ['train:2'] },
    ]);
    expect(result.problems).toEqual([
      "h1's job was killed after charging train:2, but its ledger holds no repeat of that charge",
    ]);
  });

  it('does not require the repeat when the killed job had stored its output (its retry may re-send it)', () => {
    const expected = [{ hospitalId: 'h1', slots: ['train:2'], optional: true }];
    expect(compareToClean(clean, snapshot(clean.charges.h1!), expected).problems).toEqual([]);
    const repeated = snapshot([...clean.charges.h1!, charge(['train:2'], [oneMoreUse])]);
    expect(compareToClean(clean, repeated, expected)).toEqual({ problems: [], chargedRetries: 1 });
  });

  it("requires the final model's patient ε to cover each hospital's run total", () => {
    const finite = snapshot([...clean.charges.h1!], 1.5, 1.5);
    expect(compareToClean(snapshot(clean.charges.h1!, 1.5, 1.5), finite).problems).toEqual([]);
    const under = snapshot([...clean.charges.h1!], 1.5, 2);
    expect(compareToClean(snapshot(clean.charges.h1!, 1.5, 2), under).problems).toEqual([
      "the final model states patient ε = 1.5, less than h1's run total 2 in its ledger",
    ]);
    const infinite = snapshot([...clean.charges.h1!], 1.5, null);
    expect(compareToClean(snapshot(clean.charges.h1!, 1.5, null), infinite).problems).toEqual([
      "the final model states patient ε = 1.5, less than h1's run total ∞ in its ledger",
    ]);
  });
});
