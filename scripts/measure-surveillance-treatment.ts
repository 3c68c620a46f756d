import { detectOutbreaks, releaseWeeklyCounts, weeklyCounts } from '../src/core/agents/surveillance';
import { estimateTreatmentEffect, noisyTables, tablesWithCuts } from '../src/core/agents/treatment-effect';
import { DEFAULT_TREATMENT_LOG_ODDS_RATIO } from '../src/core/data/treatment-model';
import { generateCohort, withEncounters } from '../src/core/data';
import { CryptoRandom } from '../src/runtime/crypto-random';

/**
 * The releases and detectors of the surveillance and treatment agents, without the platform: the
 * same functions the hospital job and the agents call, over many DP-noise draws per cohort seed.
 *
 *   node bin/run-ts.js scripts/measure-surveillance-treatment.ts FROM_SEED TO_SEED DRAWS EXTRA_PER_WEEK [H] [Z]
 *
 * Per seed: quiet cohort (false alarms, CI coverage) and the same cohort with an outbreak at
 * h2-cardiac weeks 60–63 (detections at h2-cardiac in weeks 60–64, delays). Numbers in
 * src/core/agents/README.md.
 */
const [from, to, draws, rate, h = 6, z = 1] = process.argv.slice(2).map(Number);
const random = new CryptoRandom();
const truth = DEFAULT_TREATMENT_LOG_ODDS_RATIO;
for (let seed = from; seed <= to; seed++) {
  const parts: string[] = [];
  for (const outbreak of [false, true]) {
    const cohort = generateCohort({
      seed,
      ...(outbreak
        ? { outbreak: { hospitalId: 'h2-cardiac', startWeek: 60, weeks: 4, extraRate: rate } }
        : {}),
    });
    const stays = cohort.hospitals.map(
      (x) => [x.hospitalId, withEncounters([...x.train, ...x.test], x.encounters)] as const,
    );
    const tables = stays.map(([id, r]) => tablesWithCuts(id, r));
    const counts = stays.map(([id, r]) => weeklyCounts(id, r, cohort.truth.admissionStart, 104));
    let covered = 0;
    let stray = 0;
    const delays: number[] = [];
    for (let d = 0; d < draws; d++) {
      const pooled = estimateTreatmentEffect(
        tables.map((t) => noisyTables(t, z, random, { clampAtZero: false }).tables),
      ).pooled;
      if (pooled && pooled.ci95[0] <= truth && truth <= pooled.ci95[1]) covered++;
      const releases = counts.map((c) => releaseWeeklyCounts(c, z, random));
      const alerts = detectOutbreaks(
        releases.map((r) => r.release),
        { cusum: { noiseStd: releases[0].noiseStd, h } },
      );
      const hit = alerts.find((a) => a.hospitalId === 'h2-cardiac' && a.week >= 60 && a.week <= 64);
      if (outbreak && hit) delays.push(hit.week - 60);
      const inWindow = (a: (typeof alerts)[number]) =>
        ['h2-cardiac', 'all'].includes(a.hospitalId) && a.week >= 60 && a.week <= 66;
      if (alerts.some((a) => !outbreak || !inWindow(a))) stray++;
    }
    const median = [...delays].sort((a, b) => a - b)[Math.floor(delays.length / 2)];
    parts.push(
      outbreak
        ? `outbreak: detected ${delays.length}/${draws} (delay median ${median ?? '-'}, max ${delays.length ? Math.max(...delays) : '-'}), other alerts ${stray}, CI covers ${covered}`
        : `quiet: runs with an alert ${stray}/${draws}, CI covers ${covered}/${draws}`,
    );
  }
  process.stdout.write(`seed ${seed}: ${parts.join(' | ')}\n`);
}
