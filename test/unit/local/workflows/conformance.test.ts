import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFORMANCE_DIR, readCase, runCase } from './conformance-harness';

const files = fs
  .readdirSync(CONFORMANCE_DIR)
  .filter((f) => f.endsWith('.yaml') || f.endsWith('.json'))
  .sort();

describe('Cloud Workflows conformance suite', () => {
  it('has at least 60 workflows, each with an expectation and the doc page it follows', () => {
    expect(files.length).toBeGreaterThanOrEqual(60);
    for (const f of files) {
      const c = readCase(path.join(CONFORMANCE_DIR, f));
      expect([f, 'expect' in c || c.expectError !== undefined]).toEqual([f, true]);
      expect([f, c.doc]).toEqual([
        f,
        expect.stringMatching(/^https:\/\/cloud\.google\.com\/workflows\/docs\//),
      ]);
    }
  });

  it.each(files)('%s', async (f) => {
    const c = readCase(path.join(CONFORMANCE_DIR, f));
    const outcome = await runCase(c);
    if (c.expectError !== undefined) {
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect((outcome.error as { tags?: string[] }).tags).toContain(c.expectError);
    } else {
      if (!outcome.ok)
        throw new Error(
          `unexpected error ${JSON.stringify(outcome.error)} at ${JSON.stringify(outcome.location)}`,
        );
      expect(outcome.result).toEqual(c.expect);
    }
  });
});
