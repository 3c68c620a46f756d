/**
 * Site intercepts in the hospital job (issue 14): what leaves the hospital carries exactly 0 at
 * the intercept, the intercept itself stays in the hospital's own storage, the next round trains
 * from it (a retry from the rounds before, never from its own crashed attempt), and the
 * hospital's evaluation scores with it.
 */
import * as path from 'node:path';
import { decodeUpdate } from '../../../src/core/codec/update-codec';
import { initializeBackend } from '../../../src/core/model';
import { localHospitalSiteStore } from '../../../src/adapters/ledger/local-hospital-ledger';
import { silentLogger } from '../../../src/logging/logger';
import { runHospitalJob, type HospitalJobDeps } from '../../../src/services/hospital-job';
import type { HospitalSiteStore } from '../../../src/ports/hospital-site-store';
import { memoryCohortSource, setUpRun, smallCohort, versionOf, type RunFixture } from './service-fixture';

jest.setTimeout(90_000);

beforeAll(async () => {
  await initializeBackend('auto');
});

let fx: RunFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

function jobDeps(f: RunFixture, site: HospitalSiteStore | undefined): HospitalJobDeps {
  return {
    documents: f.stack.documents,
    blobs: f.stack.blobs,
    events: f.bus,
    models: f.models,
    cohorts: memoryCohortSource(smallCohort()),
    keys: f.keys,
    ledger: f.ledger,
    site,
    clock: f.clock,
    logger: silentLogger,
  };
}

const train = (f: RunFixture, site: HospitalSiteStore | undefined, hospitalId: string, round: number) =>
  runHospitalJob({ mode: 'train', runId: f.runId, hospitalId, round, taskAttempt: 0 }, jobDeps(f, site));

async function closeRoundOne(f: RunFixture, site: HospitalSiteStore): Promise<void> {
  await f.lifecycle.openRound(f.runId, 1);
  for (const h of f.hospitals) {
    await train(f, site, h, 1);
    await f.aggregator.handle({ data: JSON.stringify(f.bus.ofType('update.submitted').at(-1)) });
  }
  expect((await f.lifecycle.getRound(f.runId, 1))!.status).toBe('closed');
}

describe('site intercepts in the hospital job', () => {
  it('sends 0 at the intercept and keeps the trained intercept in the hospital’s own store only', async () => {
    fx = await setUpRun({ siteIntercept: true, localLearningRate: 0.05 });
    const site = localHospitalSiteStore(path.join(fx.home, 'own-state'));
    await closeRoundOne(fx, site);
    const intercept = fx.numParameters - 1; // the output unit's bias is the last weight
    for (const submitted of fx.bus.ofType('update.submitted')) {
      const { values } = decodeUpdate(await fx.stack.blobs.get(submitted.data.blobPath));
      expect(values[intercept]).toBe(0);
      expect(Math.hypot(...(values as Float32Array))).toBeGreaterThan(0);
      const kept = await site.interceptAt(fx.runId, submitted.data.hospitalId, 1);
      expect(kept?.round).toBe(1);
      expect(Math.abs(kept!.intercept)).toBeGreaterThan(1e-4);
    }
    // Nothing of the site state is in the shared store, and the shared intercept did not move.
    expect(
      (await fx.stack.blobs.list('')).filter((p) => p.includes('site') || p.includes('intercept')),
    ).toEqual([]);
    const { artifacts } = await fx.models.load(versionOf(fx, 1));
    const shared = new Float32Array(
      artifacts.weights.buffer,
      artifacts.weights.byteOffset,
      artifacts.weights.byteLength / 4,
    );
    expect(shared[intercept]).toBe(fx.baseWeights[intercept]);
  });

  it('trains the next round from its own intercept, and a retry from the rounds before, never its own attempt', async () => {
    fx = await setUpRun({ siteIntercept: true });
    const site = localHospitalSiteStore(path.join(fx.home, 'own-state'));
    await closeRoundOne(fx, site);
    const [h1, h2] = fx.hospitals;
    // h1's own intercept says "almost everyone dies here"; h2 keeps what it trained.
    await site.saveIntercept(fx.runId, h1, 1, 6);
    await fx.lifecycle.openRound(fx.runId, 2);
    await train(fx, site, h1, 2);
    await train(fx, site, h2, 2);
    const own = (await site.interceptAt(fx.runId, h1, 2))!;
    expect(own.round).toBe(2);
    expect(own.intercept).toBeGreaterThan(4); // one short epoch moves it a little from 6
    expect(Math.abs((await site.interceptAt(fx.runId, h2, 2))!.intercept)).toBeLessThan(3);
    // A crashed attempt of round 2 left −9; the retry starts from round 1's 6 again.
    await site.saveIntercept(fx.runId, h1, 2, -9);
    expect((await train(fx, site, h1, 2)).status).toBe('done');
    expect((await site.interceptAt(fx.runId, h1, 2))!.intercept).toBeGreaterThan(4);
  });

  it('scores its evaluation with its own intercept, and a job with nowhere to keep one refuses the run', async () => {
    fx = await setUpRun({ siteIntercept: true });
    const site = localHospitalSiteStore(path.join(fx.home, 'own-state'));
    await closeRoundOne(fx, site);
    const [h1, h2] = fx.hospitals;
    await site.saveIntercept(fx.runId, h1, 1, 8);
    await site.saveIntercept(fx.runId, h2, 1, -8);
    const evaluate = (hospitalId: string) =>
      runHospitalJob(
        { mode: 'evaluate', runId: fx!.runId, hospitalId, modelVersionId: versionOf(fx!, 1), taskAttempt: 0 },
        jobDeps(fx!, site),
      );
    await evaluate(h1);
    await evaluate(h2);
    const reported = fx.bus.ofType('evaluation.reported');
    const topBin = (h: string) => {
      const { positives, negatives } = reported.find((e) => e.data.hospitalId === h)!.data.histogram;
      const all = positives.map((p, i) => p + negatives[i]);
      return all.at(-1)! / all.reduce((a, b) => a + b, 0);
    };
    // Intercept +8: every risk ≈ 1, in the top bin; −8: none there (the noise is a few stays).
    expect(topBin(h1)).toBeGreaterThan(0.7);
    expect(topBin(h2)).toBeLessThan(0.3);

    await fx.lifecycle.openRound(fx.runId, 2);
    await expect(train(fx, undefined, fx.hospitals[2], 2)).rejects.toThrow(
      /trains site intercepts, but this job has no storage of .*'s own to keep one in: set HIMAS_LEDGER_BUCKET/,
    );
  });
});
