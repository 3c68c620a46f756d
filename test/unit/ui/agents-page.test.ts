import {
  SURVEILLANCE_ALERTS_TABLE,
  SURVEILLANCE_RELEASES_TABLE,
  TREATMENT_ESTIMATES_TABLE,
} from '../../../schemas/warehouse';
import { agentsView } from '../../../src/ui/console-data';
import { agentsPage } from '../../../src/ui/other-pages';
import { setUpRun, type RunFixture } from '../services/service-fixture';

/** The alerts-and-estimates page from real warehouse rows: intervals, caveats, rounded numbers. */
describe('console: surveillance alerts and treatment estimates', () => {
  let fx: RunFixture;
  beforeAll(async () => {
    fx = await setUpRun();
    const time = '2026-12-01T00:00:00.000Z';
    await fx.stack.warehouse.insert(SURVEILLANCE_RELEASES_TABLE, [
      {
        runId: fx.runId,
        hospitalId: fx.hospitals[0],
        periodStart: '2022-01-03',
        signals: ['admissions'],
        counts: [[10.4]],
        noiseStd: 2,
        epsilon: 0.5,
        delta: 1e-5,
        eventId: 'e1',
        time,
      },
    ]);
    await fx.stack.warehouse.insert(SURVEILLANCE_ALERTS_TABLE, [
      {
        runId: fx.runId,
        hospitalId: fx.hospitals[0],
        signal: 'admissions',
        week: 61,
        weekStart: '2023-03-06',
        size: 11.8731,
        message: 'admissions above the expected level since week 60',
        eventId: 'a1',
        time,
      },
    ]);
    await fx.stack.warehouse.insert(TREATMENT_ESTIMATES_TABLE, [
      {
        runId: fx.runId,
        hospitalId: 'all',
        scope: 'pooled',
        logOddsRatio: Math.log(1.5),
        standardError: 0.1,
        ciLow: Math.log(1.2),
        ciHigh: Math.log(1.9),
        crudeLogOddsRatio: Math.log(2.4),
        stays: 1234.6,
        treated: 300,
        adjustment: 'Mantel–Haenszel over severity strata',
        caveats: ['observational: confounding by indication remains'],
        summary: 'vasopressors associated with higher mortality after adjustment',
        time,
      },
    ]);
  });
  afterAll(() => fx.close());

  test('shows the alert, the odds ratio with its 95 % CI and the caveats, rounded', async () => {
    const view = await agentsView(
      { documents: fx.stack.documents, models: fx.models, warehouse: fx.stack.warehouse },
      fx.runId,
    );
    const page = agentsPage(view, [fx.runId], fx.runId).value;
    expect(page).toContain('admissions above the expected level since week 60');
    expect(page).toMatch(/>11\.9</);
    expect(page).toContain('1.50 [1.20, 1.90] (crude 2.40; 1235 stays, noisy)');
    expect(page).toContain('observational: confounding by indication remains');
    expect(page).toContain('Mantel–Haenszel over severity strata');
    // The untrained r0000 is all the fixture has: nothing is served, and the page says why.
    expect(page).toMatch(/refuses/);
  });

  test('an unknown run is an empty state, not an error', async () => {
    const view = await agentsView(
      { documents: fx.stack.documents, models: fx.models, warehouse: fx.stack.warehouse },
      'nope',
    );
    expect(agentsPage(view, [fx.runId], 'nope').value).toContain('No run &#39;nope&#39; in this store.');
  });
});
