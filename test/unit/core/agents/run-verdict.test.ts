import { checkDivergence } from '../../../../src/core/agents/divergence';
import { judgeRun, type VerdictInput } from '../../../../src/core/agents/run-verdict';

const quality = (auroc: number | null, loss: number | null) => ({ auroc, loss });

describe('checkDivergence', () => {
  const initial = quality(0.7, 0.69);

  it('passes a model that improved on the initial one', () => {
    expect(checkDivergence(initial, quality(0.82, 0.31))).toMatchObject({ diverged: false, judged: true });
  });

  it('flags a loss above the initial model, an AUROC below it, chance level and a non-finite loss', () => {
    expect(checkDivergence(quality(0.337, 0.726), quality(0.5, 1.648))).toEqual({
      diverged: true,
      judged: true,
      reason:
        'pooled loss rose from 0.726 (initial model) to 1.648; pooled AUROC 0.500 is no better than chance',
    });
    expect(checkDivergence(initial, quality(0.65, 0.4)).reason).toBe(
      'pooled AUROC fell from 0.700 (initial model) to 0.650',
    );
    expect(checkDivergence(null, quality(0.45, null))).toMatchObject({ diverged: true });
    expect(checkDivergence(initial, quality(0.9, Number.POSITIVE_INFINITY))).toMatchObject({
      diverged: true,
      reason: 'pooled loss is not finite',
    });
  });

  it('does not judge what was not evaluated', () => {
    expect(checkDivergence(initial, null)).toMatchObject({ diverged: false, judged: false });
    expect(checkDivergence(null, quality(0.8, 0.3))).toMatchObject({ diverged: false, judged: false });
  });
});

describe('judgeRun', () => {
  const v = (round: number, pooled = quality(0.7 + round / 100, 0.6 - round / 100), halted = false) => ({
    versionId: `r-r000${round}`,
    round,
    halted,
    pooled,
  });
  const base: VerdictInput = {
    runId: 'r',
    status: 'completed',
    plannedRounds: 3,
    halt: null,
    rounds: [1, 2, 3].map((round) => ({ round, status: 'closed', failureReason: null })),
    versions: [v(0), v(1), v(2), v(3)],
  };

  it('a run whose rounds all closed and whose model improved succeeded, with its newest version', () => {
    expect(judgeRun(base)).toMatchObject({
      kind: 'succeeded',
      modelVersionId: 'r-r0003',
      reason: 'all 3 rounds closed; the model is r-r0003',
    });
  });

  it('a run whose rounds all failed failed: no model, and why, with identical reasons folded', () => {
    const verdict = judgeRun({
      ...base,
      status: 'failed',
      rounds: [1, 2, 3].map((round) => ({
        round,
        status: 'failed',
        failureReason: '0 accepted update(s), quorum is 3 (deadline passed)',
      })),
      versions: [v(0)],
    });
    expect(verdict).toEqual({
      kind: 'failed',
      modelVersionId: null,
      divergedVersionId: null,
      divergence: null,
      reason:
        'no round closed, so no model was trained; rounds 1–3: 0 accepted update(s), quorum is 3 (deadline passed)',
    });
  });

  it('a run halted before a trained version was halted, and serves nothing', () => {
    const verdict = judgeRun({
      ...base,
      status: 'halted',
      halt: {
        by: 'aggregator',
        reason: 'privacy budget: this round would bring hospital-level ε to 4.729 > budget 0.5',
      },
      rounds: [{ round: 1, status: 'failed', failureReason: 'privacy budget' }],
      versions: [v(0)],
    });
    expect(verdict.kind).toBe('halted');
    expect(verdict.modelVersionId).toBeNull();
    expect(verdict.reason).toMatch(
      /^halted by aggregator before any model was trained.*4\.729 > budget 0\.5$/,
    );
  });

  it('a run halted after trained versions serves the newest one the guardian did not halt', () => {
    const verdict = judgeRun({
      ...base,
      status: 'halted',
      halt: { by: 'agent:privacy-guardian', reason: 'budget exhausted' },
      versions: [v(0), v(1), v(2), v(3, undefined, true)],
    });
    expect(verdict).toMatchObject({ kind: 'succeeded', modelVersionId: 'r-r0002' });
    expect(verdict.reason).toBe('stopped early at round 2 of 3 (budget exhausted); the model is r-r0002');
  });

  it('a run whose model is worse than the initial one diverged, and presents no model', () => {
    const verdict = judgeRun({
      ...base,
      versions: [v(0, quality(0.337, 0.726)), v(1), v(2), v(3, quality(0.5, 1.648))],
    });
    expect(verdict).toMatchObject({ kind: 'diverged', modelVersionId: null, divergedVersionId: 'r-r0003' });
    expect(verdict.reason).toMatch(
      /^training diverged: r-r0003 is worse than the initial model \(pooled loss rose/,
    );
  });

  it('an unfinished run is running', () => {
    expect(judgeRun({ ...base, status: 'running' }).kind).toBe('running');
  });
});
