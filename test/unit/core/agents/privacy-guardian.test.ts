import { TrainingConfigSchema, type TrainingConfigInput } from '../../../../schemas/training-config';
import type { DpEventData } from '../../../../schemas/privacy';
import { checkPrivacy, type PrivacyGuardianInput } from '../../../../src/core/agents/privacy-guardian';
import { hospitalLevelGuarantee, roundPrivacyEvent } from '../../../../src/services/privacy-guarantee';

const HOSPITALS = ['h1-academic', 'h2-cardiac', 'h3-community'];

/** The state after `rounds` closed rounds, exactly as the aggregator writes it. */
function runAfter(rounds: number, overrides: TrainingConfigInput = {}): PrivacyGuardianInput {
  const config = TrainingConfigSchema.parse({ aggregation: 'dp-fedavg', noiseMultiplier: 0.5, ...overrides });
  const ledger: DpEventData[] = Array.from({ length: rounds }, () =>
    roundPrivacyEvent(config, HOSPITALS.length, HOSPITALS.length),
  );
  return {
    runId: 'run-1',
    config,
    hospitals: HOSPITALS,
    ledgers: { hospital: ledger },
    claimed: [hospitalLevelGuarantee(config, ledger, 1)],
    modelVersionId: `run-1-r${String(rounds).padStart(4, '0')}`,
    round: { round: rounds, expectedHospitals: HOSPITALS, quorum: 3, participants: HOSPITALS },
  };
}

describe('checkPrivacy', () => {
  it('verifies the seed configuration (z = 0.5, 10 rounds, q = 1: ε ≈ 48.8 at δ = 1e-5)', () => {
    const decision = checkPrivacy(runAfter(10));
    expect(decision.level).toBe('ok');
    expect(decision.units[0].recomputedEpsilon).toBeCloseTo(48.8, 0);
    expect(decision.alert).toBeNull();
    expect(decision.audit).toMatchObject({
      runId: 'run-1',
      round: 10,
      actor: 'agent:privacy-guardian',
      action: 'privacy.check',
      outcome: 'accepted',
      subject: 'run-1-r0010',
    });
    expect(decision.message).toMatch(/privacy ok at run-1-r0010: hospital-level ε = 48\.\d{4}/);
  });

  it('warns at 80 % of the budget and halts at 100 %', () => {
    // ε after 10 rounds ≈ 48.8: a budget of 55 is 89 % spent, a budget of 48 is exceeded.
    const warning = checkPrivacy(runAfter(10, { epsilonBudget: 55 }));
    expect(warning.level).toBe('warning');
    expect(warning.alert).toMatchObject({ level: 'warning', unit: 'hospital', budgetEpsilon: 55 });
    expect(warning.haltReason).toBeNull();
    const halt = checkPrivacy(runAfter(10, { epsilonBudget: 48 }));
    expect(halt.level).toBe('halt');
    expect(halt.haltReason).toMatch(/has reached the budget 48/);
    expect(halt.audit.outcome).toBe('rejected');
    expect(checkPrivacy(runAfter(2, { epsilonBudget: 55 })).level).toBe('ok');
  });

  it('raises a critical alert when the claimed ε differs from the ledger', () => {
    const input = runAfter(5);
    const claim = input.claimed[0];
    const tampered = { ...input, claimed: [{ ...claim, epsilon: claim.epsilon! * (1 - 1e-4) }] };
    const decision = checkPrivacy(tampered);
    expect(decision.level).toBe('critical');
    expect(decision.findings.map((f) => f.code)).toContain('epsilon-mismatch');
    // Within 1e-6 relative is accepted (floating-point noise of another implementation).
    const close = { ...input, claimed: [{ ...claim, epsilon: claim.epsilon! * (1 + 1e-7) }] };
    expect(checkPrivacy(close).level).toBe('ok');
  });

  it('flags a ledger entry with less noise than the policy, a claim with another clip norm, a missed quorum', () => {
    const input = runAfter(3);
    const weak: DpEventData = {
      kind: 'poisson-sampled',
      samplingProbability: 1,
      event: { kind: 'gaussian', noiseMultiplier: 0.1 },
    };
    const ledger = [...input.ledgers.hospital.slice(0, 2), weak];
    const weakLedger = checkPrivacy({
      ...input,
      ledgers: { hospital: ledger },
      claimed: [hospitalLevelGuarantee(input.config, ledger, 1)],
    });
    expect(weakLedger.level).toBe('critical');
    expect(weakLedger.findings.map((f) => f.code)).toEqual(['policy-violation']);
    const clip = checkPrivacy({ ...input, claimed: [{ ...input.claimed[0], clipNorm: 5 }] });
    expect(clip.findings[0].message).toMatch(/clip norm 5 ≠ policy 2/);
    const quorum = checkPrivacy({
      ...input,
      round: { ...input.round, quorum: 2, participants: ['h1-academic', 'h9-rogue'] },
    });
    expect(quorum.level).toBe('critical');
    expect(quorum.findings[0].message).toMatch(
      /round quorum 2 < policy 3.*unexpected participant\(s\) h9-rogue/,
    );
  });

  it('treats no noise as ε = ∞: fine without a budget, never a match for a finite claim', () => {
    const plain = runAfter(2, { aggregation: 'fedavg', noiseMultiplier: 0 });
    expect(checkPrivacy(plain).level).toBe('ok');
    expect(checkPrivacy(plain).units[0].recomputedEpsilon).toBeNull();
    const lie = { ...plain, claimed: [{ ...plain.claimed[0], epsilon: 1 }] };
    expect(checkPrivacy(lie).level).toBe('critical');
  });

  it('refuses a patient-level claim it cannot verify', () => {
    const input = runAfter(1);
    const patient = { ...input.claimed[0], unit: 'patient' as const };
    const decision = checkPrivacy({ ...input, claimed: [...input.claimed, patient] });
    expect(decision.findings.map((f) => f.code)).toEqual(['ledger-unverifiable']);
  });
});
