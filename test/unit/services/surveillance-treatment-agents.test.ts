import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TOPICS, type EventOf, type HimasEvent } from '../../../schemas/events';
import { TrainingConfigSchema } from '../../../schemas/training-config';
import { SURVEILLANCE_ALERTS_TABLE, TREATMENT_ESTIMATES_TABLE } from '../../../schemas/warehouse';
import { openEmbeddedStack, type EmbeddedStack } from '../../../src/adapters/embedded';
import { generateCohort, withEncounters, type SyntheticCohort } from '../../../src/core/data';
import { silentLogger } from '../../../src/logging/logger';
import { systemClock } from '../../../src/ports/clock';
import type { CohortSource } from '../../../src/ports/cohort-source';
import { CryptoRandom } from '../../../src/runtime/crypto-random';
import { shareAggregates } from '../../../src/services/hospital-aggregates';
import { FileHospitalKeyStore } from '../../../src/adapters/keys/file-hospital-key-store';
import { hospitalEventSigner } from '../../../src/runtime/hospital-event-signing';
import { enrolSimulatedHospitals } from '../../../src/services/hospital-enrolment';
import { RunLifecycle } from '../../../src/services/run-lifecycle';
import { DocumentModelRegistry } from '../../../src/adapters/model-registry/document-model-registry';
import { SurveillanceAgent } from '../../../src/services/surveillance-agent';
import { TreatmentAgent } from '../../../src/services/treatment-agent';

jest.setTimeout(60_000);

/** Hospitals' releases through the real code, published on a bus that records them. */
function cohortSource(cohort: SyntheticCohort, reads: string[]): CohortSource {
  return {
    read: async (hospitalId, split) => {
      reads.push(hospitalId);
      const h = cohort.hospitals.find((x) => x.hospitalId === hospitalId)!;
      return withEncounters(h[split], h.encounters);
    },
    describe: () => ({ kind: 'csv', location: 'memory' }),
  };
}

describe('hospital aggregate releases and the surveillance and treatment agents', () => {
  let dir: string;
  let stack: EmbeddedStack;
  const published: HimasEvent[] = [];
  const events = {
    publish: async (topic: string, message: { data: string }) => {
      expect(topic).toBe(
        JSON.parse(message.data).type === 'surveillance.alert' ? TOPICS.alerts : TOPICS.updates,
      );
      published.push(JSON.parse(message.data) as HimasEvent);
      return String(published.length);
    },
  };
  const ofType = <T extends HimasEvent['type']>(type: T) =>
    published.filter((e) => e.type === type) as EventOf<T>[];
  const runId = 'agents-run';
  /** Each hospital's charges, in order: every one must come before its data is read. */
  const charges: string[] = [];
  const reads: string[] = [];
  const charge = (hospitalId: string) => async () => {
    charges.push(hospitalId);
    expect(reads.filter((h) => h === hospitalId)).toHaveLength(0);
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'himas-st-agents-'));
    stack = await openEmbeddedStack(dir);
    const cohort = generateCohort({
      seed: 6,
      outbreak: { hospitalId: 'h2-cardiac', startWeek: 60, weeks: 4, extraRate: 12 },
    });
    const hospitals = cohort.hospitals.map((h) => h.hospitalId);
    const models = new DocumentModelRegistry(stack.documents, stack.blobs);
    const lifecycle = new RunLifecycle({ ...stack, models, clock: systemClock, logger: silentLogger });
    // The releases are off by default; here they are on, with the noise the agents were measured at.
    const config = TrainingConfigSchema.parse({
      rounds: 1,
      surveillanceNoiseMultiplier: 1,
      treatmentNoiseMultiplier: 1,
    });
    const run = await lifecycle.createRun({
      runId,
      config,
      hospitals,
      dataSource: { kind: 'csv', location: 'memory' },
      declaredTrainStays: Object.fromEntries(hospitals.map((h) => [h, 1000])),
    });
    const deps = {
      cohorts: cohortSource(cohort, reads),
      blobs: stack.blobs,
      events,
      clock: systemClock,
      random: new CryptoRandom(),
    };
    // The operator enrols the hospitals; each signs its own releases.
    const keys = new FileHospitalKeyStore(path.join(dir, 'keys'));
    await enrolSimulatedHospitals(
      { documents: stack.documents, clock: systemClock, operator: 'operator:test', keys },
      hospitals,
    );
    const signerOf = async (h: string) => hospitalEventSigner((await keys.signingKey(h)).privateKeyPem);
    for (const h of hospitals)
      await shareAggregates(runId, h, run, { ...deps, sign: await signerOf(h) }, charge(h));
    // A re-run re-sends the stored release: same numbers, no new noise, nothing read, no new charge.
    await shareAggregates(
      runId,
      'h1-academic',
      run,
      { ...deps, sign: await signerOf('h1-academic') },
      charge('h1-academic'),
    );
  });

  afterAll(async () => {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const agentDeps = () => ({
    documents: stack.documents,
    events,
    warehouse: stack.warehouse,
    clock: systemClock,
    logger: silentLogger,
  });

  it('each hospital releases once, charges its ledger before reading data, and re-sends the same numbers', async () => {
    const reports = ofType('surveillance.reported');
    expect(reports.map((r) => r.data.hospitalId)).toEqual([
      'h1-academic',
      'h2-cardiac',
      'h3-community',
      'h1-academic',
    ]);
    expect(reports[3]).toEqual(reports[0]);
    expect(reports[0].id).toBe(`surveillance:${runId}:h1-academic`);
    expect(reports[0].data.counts).toHaveLength(104);
    expect(reports[0].data.privacy).toMatchObject({
      unit: 'patient',
      noiseStd: 2,
      l2Sensitivity: 2,
      delta: 1e-5,
    });
    // Noisy: not every count is an integer.
    expect(reports[0].data.counts.flat().some((c) => !Number.isInteger(c))).toBe(true);
    const tables = ofType('treatment.reported');
    expect(tables).toHaveLength(4);
    expect(tables[0].data.tables).toHaveLength(10);
    expect(tables[0].data.privacy).toMatchObject({ noiseStd: 1, l2Sensitivity: 1 });
    // One charge per hospital, before its first read; the re-send read nothing and charged nothing.
    expect(charges).toEqual(['h1-academic', 'h2-cardiac', 'h3-community']);
    expect(reads.filter((h) => h === 'h1-academic')).toHaveLength(2); // train + test, once
  });

  it('surveillance waits for every hospital, then alerts once per alarm at the outbreak hospital', async () => {
    const agent = new SurveillanceAgent(agentDeps());
    const reports = ofType('surveillance.reported');
    const deliver = (e: HimasEvent) => agent.handle({ data: JSON.stringify(e) });
    await deliver(reports[0]);
    await deliver(reports[1]);
    expect(ofType('surveillance.alert')).toHaveLength(0);
    await deliver(reports[2]);
    const alerts = ofType('surveillance.alert');
    expect(
      alerts.some((a) => a.data.hospitalId === 'h2-cardiac' && a.data.week >= 60 && a.data.week <= 63),
    ).toBe(true);
    // Redelivery of every release: nothing new is published or written.
    for (const r of reports) await deliver(r);
    expect(ofType('surveillance.alert')).toHaveLength(alerts.length);
    const rows = await stack.warehouse.query(SURVEILLANCE_ALERTS_TABLE, { where: { runId } });
    expect(rows.map((r) => r.eventId).sort()).toEqual(alerts.map((a) => a.id).sort());
  });

  it('surveillance ignores a malformed message and a release from a hospital outside the run', async () => {
    const agent = new SurveillanceAgent(agentDeps());
    await agent.handle({ data: 'not json' });
    const stranger = { ...ofType('surveillance.reported')[0] };
    stranger.data = { ...stranger.data, hospitalId: 'h9-unknown' };
    expect(await agent.receive(stranger)).toBeNull();
  });

  it('treatment pools every hospital into one MH estimate per hospital and pooled, with CIs and caveats', async () => {
    const agent = new TreatmentAgent(agentDeps());
    const tables = ofType('treatment.reported');
    expect(await agent.receive(tables[0])).toBeNull();
    expect(await agent.receive(tables[1])).toBeNull();
    const report = await agent.receive(tables[2]);
    expect(report?.pooled).not.toBeNull();
    const rows = await stack.warehouse.query(TREATMENT_ESTIMATES_TABLE, { where: { runId } });
    expect(rows.map((r) => `${r.scope}:${r.hospitalId}`).sort()).toEqual([
      'hospital:h1-academic',
      'hospital:h2-cardiac',
      'hospital:h3-community',
      'pooled:all',
    ]);
    const pooled = rows.find((r) => r.scope === 'pooled')!;
    expect(pooled.ciLow!).toBeLessThan(pooled.logOddsRatio!);
    expect(pooled.ciHigh!).toBeGreaterThan(pooled.logOddsRatio!);
    expect(pooled.caveats.length).toBeGreaterThanOrEqual(5);
    // A second pass writes nothing new.
    await agent.receive(tables[2]);
    expect(await stack.warehouse.query(TREATMENT_ESTIMATES_TABLE, { where: { runId } })).toHaveLength(4);
  });
});
