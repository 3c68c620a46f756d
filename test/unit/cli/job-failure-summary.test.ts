import { jobFailureSummary } from '../../../src/cli/workflow-log-lines';

describe('jobFailureSummary', () => {
  it('names hospitals in id order and quotes the earliest round of the first, whatever order the jobs ended in', () => {
    const summary = jobFailureSummary([
      { hospital: 'h2-cardiac', round: 1, message: 'ledger of h2 differs' },
      { hospital: 'h3-community', round: 1, message: 'ledger of h3 differs' },
      { hospital: 'h1-academic', round: 2, message: 'ledger of h1 differs (round 2)' },
      { hospital: 'h1-academic', round: 1, message: 'ledger of h1 differs' },
    ]);
    expect(summary).toBe(
      'the jobs of h1-academic, h2-cardiac, h3-community failed (h1-academic: ledger of h1 differs; and 3 other causes, shown above)',
    );
  });

  it('says nothing when no job failed', () => {
    expect(jobFailureSummary([])).toBeNull();
  });
});
