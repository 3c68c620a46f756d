/**
 * Site intercepts in the hospital job (issue 14): what leaves the hospital carries only the change
 * of its intercept, the intercept itself stays in the hospital's own storage, the next round trains
 * from it (a retry from the rounds before, never from its own crashed attempt), and the
 * hospital's evaluation scores with it.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { paths } from '../../../schemas/documents';
import { decodeUpdate } from '../../../src/core/codec/update-codec';
import { initializeBackend } from '../../../src/core/model';
import { localHospitalSiteStore } from '../../../src/adapters/ledger/local-hospital-ledger';
import { runHospitalJob } from '../../../src/services/hospital-job';
import type { HospitalSiteStore } from '../../../src/ports/hospital-site-store';
import { ownInterceptAsOf } from '../../../src/services/site-intercepts';
import { hospitalJobDeps, setUpRun, smallCohort, versionOf, type RunFixture } from './service-fixture';

jest.setTimeout(90_000);

beforeAll(async () => {
  await initializeBackend('auto');
});

let fx: RunFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const jobDeps = (f: RunFixture, site: HospitalSiteStore | undefined) => hospitalJobDeps(f, { site });

const train = (f: RunFixture, site: HospitalSiteStore | undefined, hospitalId: string, round: number) =>
  runHospitalJob({ mode: 'train', runId: f.runId, hospitalId, round, taskAttempt: 0 }, jobDeps(f, site));

async function closeRound(
  f: RunFixture,
  site: HospitalSiteStore,
  round: number,
  trained: string[] = [],
): Promise<void> {
  if (trained.length === 0) await f.lifecycle.openRound(f.runId, round);
  for (const h of f.hospitals) {
    if (!trained.includes(h)) await train(f, site, h, round);
    const sent = f.bus.ofType('update.submitted').filter((e) => e.round === round && e.data.hospitalId === h);
    await f.aggregator.handle({ data: JSON.stringify(sent.at(-1)) });
  }
  expect((await f.lifecycle.getRound(f.runId, round))!.status).toBe('closed');
}

/** The hospital's own intercept as of `round`, as its next job reads it. */
const ownAsOf = (f: RunFixture, site: HospitalSiteStore, hospitalId: string, round: number) =>
  ownInterceptAsOf({ documents: f.stack.documents, site }, f.runId, hospitalId, round);

/** Replaces what a hospital kept with its round's update (the store itself never rewrites one). */
async function keepInstead(
  f: RunFixture,
  stateDir: string,
  hospitalId: string,
  round: number,
  intercept: number,
) {
  const receipt = (await f.stack.documents.get(paths.update(f.runId, round, hospitalId)))!;
  const sha = receipt.sha256 as string;
  rmSync(path.join(stateDir, 'site', hospitalId, f.runId, `${String(round).padStart(6, '0')}-${sha}.json`));
  await localHospitalSiteStore(stateDir).saveIntercept(f.runId, hospitalId, round, sha, intercept);
}

describe('site intercepts in the hospital job', () => {
  it('sends the change of its own intercept, keeps the intercept in its own store only, and the shared one follows their mean', async () => {
    // No clipping (C large), no noise: the aggregate is the plain mean of the three updates.
    fx = await setUpRun({ siteIntercept: true, localLearningRate: 0.05, clipNorm: 1000 });
    const site = localHospitalSiteStore(path.join(fx.home, 'own-state'));
    await closeRound(fx, site, 1);
    const intercept = fx.numParameters - 1; // the output unit's bias is the last weight
    const start = fx.baseWeights[intercept];
    const sentChanges: number[] = [];
    for (const submitted of fx.bus.ofType('update.submitted')) {
      const { values } = decodeUpdate(await fx.stack.blobs.get(submitted.data.blobPath));
      const kept = (await site.interceptOf(fx.runId, submitted.data.hospitalId, 1, submitted.data.sha256))!;
      expect(Math.abs(kept - start)).toBeGreaterThan(1e-4);
      // What left is the change of its intercept, not the intercept.
      expect(values[intercept]).toBe(Math.fround(kept - start));
      sentChanges.push(values[intercept]);
      expect(await ownAsOf(fx, site, submitted.data.hospitalId, 1)).toBe(kept);
    }
    // Nothing of the site state is in the shared store.
    expect(
      (await fx.stack.blobs.list('')).filter((p) => p.includes('site') || p.includes('intercept')),
    ).toEqual([]);
    const { artifacts } = await fx.models.load(versionOf(fx, 1));
    const shared = new Float32Array(
      artifacts.weights.buffer,
      artifacts.weights.byteOffset,
      artifacts.weights.byteLength / 4,
    );
    const mean = sentChanges.reduce((a, b) => a + b, 0) / sentChanges.length;
    expect(shared[intercept]).toBeCloseTo(start + mean, 5);
  });

  it("trains the next round from its own intercept, never from a crashed attempt's", async () => {
    fx = await setUpRun({ siteIntercept: true });
    const stateDir = path.join(fx.home, 'own-state');
    const site = localHospitalSiteStore(stateDir);
    await closeRound(fx, site, 1);
    const [h1, h2] = fx.hospitals;
    // h1's own intercept says "almost everyone dies here"; h2 keeps what it trained.
    await keepInstead(fx, stateDir, h1, 1, 6);
    expect(await ownAsOf(fx, site, h1, 1)).toBe(6);
    await fx.lifecycle.openRound(fx.runId, 2);
    // A crashed attempt of round 2 kept −9 with an update that never went out.
    await site.saveIntercept(fx.runId, h1, 2, 'c'.repeat(64), -9);
    await train(fx, site, h1, 2);
    await train(fx, site, h2, 2);
    const sent = (h: string) =>
      fx!.bus.ofType('update.submitted').find((e) => e.round === 2 && e.data.hospitalId === h)!;
    // One short epoch moves it a little from 6 (h1) and from its own small value (h2).
    expect(await site.interceptOf(fx.runId, h1, 2, sent(h1).data.sha256)).toBeGreaterThan(4);
    expect(Math.abs((await site.interceptOf(fx.runId, h2, 2, sent(h2).data.sha256))!)).toBeLessThan(3);
    // Until round 2 closes, h1 is still at round 1's; then at the update the aggregate took.
    expect(await ownAsOf(fx, site, h1, 2)).toBe(6);
    await closeRound(fx, site, 2, [h1, h2]);
    expect(await ownAsOf(fx, site, h1, 2)).toBeGreaterThan(4);
  });

  it('scores its evaluation with its own intercept, and a job with nowhere to keep one refuses the run', async () => {
    fx = await setUpRun({ siteIntercept: true });
    const stateDir = path.join(fx.home, 'own-state');
    const site = localHospitalSiteStore(stateDir);
    await closeRound(fx, site, 1);
    const [h1, h2] = fx.hospitals;
    await keepInstead(fx, stateDir, h1, 1, 8);
    await keepInstead(fx, stateDir, h2, 1, -8);
    const evaluate = (hospitalId: string) =>
      runHospitalJob(
        { mode: 'evaluate', runId: fx!.runId, hospitalId, modelVersionId: versionOf(fx!, 1), taskAttempt: 0 },
        jobDeps(fx!, site),
      );
    await evaluate(h1);
    await evaluate(h2);
    const reported = fx.bus.ofType('evaluation.reported');
    const histogram = (h: string) => reported.find((e) => e.data.hospitalId === h)!.data.histogram;
    const bin = (h: string, at: 0 | -1) => {
      const { positives, negatives } = histogram(h);
      return positives.at(at)! + negatives.at(at)!;
    };
    // Intercept +8: every risk ≈ 1, in the top bin; −8: ≈ 0, in the bottom one. Each count carries
    // DP noise, so the test asks for differences far beyond it (5 noise SDs of a difference).
    const margin = 5 * Math.SQRT2 * Math.max(histogram(h1).noiseStd, histogram(h2).noiseStd);
    const stays = smallCohort().hospitals[0].test.length;
    expect(margin).toBeLessThan(stays / 2); // a margin the test stays can clear
    expect(bin(h1, -1) - bin(h2, -1)).toBeGreaterThan(margin);
    expect(bin(h2, 0) - bin(h1, 0)).toBeGreaterThan(margin);

    await fx.lifecycle.openRound(fx.runId, 2);
    await expect(train(fx, undefined, fx.hospitals[2], 2)).rejects.toThrow(
      /trains site intercepts, but this job has no storage of .*'s own to keep one in: set HIMAS_LEDGER_BUCKET/,
    );
  });
});
