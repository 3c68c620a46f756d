import { checkDivergence, MAX_JUDGED_AUROC_WIDTH } from '../../../../src/core/agents/divergence';
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
    expect(checkDivergence(null, quality(null, null))).toMatchObject({ diverged: false, judged: false });
  });

  it('without an initial evaluation it judges against chance and a 50 % guess', () => {
    expect(checkDivergence(null, quality(0.8, 0.3))).toMatchObject({ diverged: false, judged: true });
    expect(checkDivergence(null, quality(0.8, 0.9))).toEqual({
      diverged: true,
      judged: true,
      reason: 'pooled loss 0.900 is worse than predicting 50 % for every stay (0.693)',
    });
  });

  it('flags a training loss that exploded (released only without DP-SGD), even unevaluated', () => {
    expect(checkDivergence(null, null, 15.7)).toEqual({
      diverged: true,
      judged: true,
      reason: "the hospitals' training loss exploded to 15.700",
    });
    expect(checkDivergence(null, null, Number.NaN)).toMatchObject({ diverged: true });
    expect(checkDivergence(null, null, 4.9)).toMatchObject({ diverged: false, judged: false });
  });

  it('never calls noise divergence: a noisy figure counts only when its widened interval is worse', () => {
    // AUROC 0.45 with a 95 % interval 0.40–0.60: the noise allows 0.70, better than chance.
    const noisy = {
      auroc: 0.45,
      loss: 0.8,
      aurocInterval: [0.4, 0.6] as const,
      lossInterval: [0.6, 1.0] as const,
    };
    expect(checkDivergence(initial, noisy)).toMatchObject({ diverged: false, judged: true });
    // The same figures with a narrow interval are worse than the initial model and than chance.
    const narrow = { ...noisy, aurocInterval: [0.44, 0.46] as const, lossInterval: [0.78, 0.82] as const };
    expect(checkDivergence(initial, narrow)).toEqual({
      diverged: true,
      judged: true,
      reason:
        'pooled loss rose from 0.690 (initial model) to 0.800; pooled AUROC fell from 0.700 (initial model) to 0.450; pooled AUROC 0.450 is no better than chance',
    });
  });

  it('does not judge AUROC when the noise interval is wider than MAX_JUDGED_AUROC_WIDTH', () => {
    const wide = {
      auroc: 0.2,
      loss: null,
      aurocInterval: [0.1, 0.1 + MAX_JUDGED_AUROC_WIDTH + 0.01] as const,
    };
    const check = checkDivergence(initial, wide);
    expect(check).toMatchObject({ diverged: false, judged: false });
    expect(check.reason).toMatch(/noise is too large to judge AUROC \(95 % interval 0\.100–0\.360\)/);
    const justNarrowEnough = { ...wide, aurocInterval: [0.1, 0.1 + MAX_JUDGED_AUROC_WIDTH] as const };
    expect(checkDivergence(initial, justNarrowEnough)).toMatchObject({ diverged: true });
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
    expect(verdict.reason).toMatch(/^training diverged: r-r0003 is not a model to serve \(pooled loss rose/);
  });

  it('an unfinished run is running', () => {
    expect(judgeRun({ ...base, status: 'running' }).kind).toBe('running');
  });
});
