import { executeWorkflow, loadWorkflowFile, virtualClock } from '../../../src/local/workflows';
import { TRAINING_WORKFLOW } from '../../../src/local/workflow-training';

const COORDINATOR = 'http://coordinator.test';

/**
 * The workflow's poll is one of the looks that recover a round (issue 20): while it waits for a
 * round that stays `aggregating` (its aggregator died under its lease, or its deadline was
 * dead-lettered), it publishes the round's deadline event again every 30 s — the same event, so a
 * repeat means nothing new to a round already past it. Every connector is a recording stand-in; the
 * clock is virtual.
 */
describe('federated-training.yaml: re-signalling a round that does not end', () => {
  it('publishes the same round.deadline again every 30 s of waiting until the round closes', async () => {
    const clock = virtualClock();
    const started = clock.now();
    const published: Array<{ type: string; id: string; data: unknown }> = [];
    const polls: number[] = [];
    // The round stays aggregating for 100 s of the workflow's waiting, then closes.
    const status = () => (clock.now() - started < 100_000 ? 'aggregating' : 'closed');
    const deadlineEvent = {
      type: 'round.deadline',
      specVersion: '1',
      id: 'round.deadline:run-r:1',
      runId: 'run-r',
      round: 1,
      time: '2024-01-01T00:00:00.000Z',
      data: { deadline: '2024-01-01T00:10:00.000Z' },
    };
    const answers: Record<string, unknown> = {
      'POST /runs': { runId: 'run-r', hospitals: ['h1'], rounds: 1, currentRound: 0, deadlineSeconds: 600 },
      'POST /runs/run-r/initialize': { modelVersionId: 'run-r-r0000' },
      'GET /runs/run-r': { halted: false, hospitals: ['h1'], latestModelVersionId: 'run-r-r0001' },
      'POST /runs/run-r/rounds/1/open': {
        status: 'open',
        expectedHospitals: ['h1'],
        roundPath: 'runs/run-r/rounds/0001',
        event: { ...deadlineEvent, type: 'round.started', id: 'round.started:run-r:1' },
      },
      'POST /runs/run-r/rounds/1/deadline': { event: deadlineEvent },
      'POST /runs/run-r/finish': {
        status: 'completed',
        haltReason: null,
        latestModelVersionId: 'run-r-r0001',
      },
    };
    const http = (method: string) => async (args: Record<string, unknown>) => {
      const key = `${method} ${String(args.url).slice(COORDINATOR.length)}`;
      if (!(key in answers)) throw new Error(`unexpected call ${key}`);
      return { code: 200, headers: {}, body: answers[key] };
    };
    const outcome = await executeWorkflow(
      loadWorkflowFile(TRAINING_WORKFLOW),
      { runId: 'run-r', hospitals: ['h1'], deadlineGraceSeconds: 0, declaredTrainStays: { h1: 100 } },
      {
        clock,
        log: () => undefined,
        env: {
          HIMAS_REGION: 'local',
          HIMAS_COORDINATOR_URL: COORDINATOR,
          HIMAS_TOPIC_ROUNDS: 'rounds-topic',
          HIMAS_JOB_PREFIX: 'job-',
          HIMAS_HOSPITALS: 'h1',
        },
        callables: {
          'http.post': http('POST'),
          'http.get': http('GET'),
          'googleapis.pubsub.v1.projects.topics.publish': async (args) => {
            const body = args.body as { messages: Array<{ data: string }> };
            for (const m of body.messages)
              published.push(JSON.parse(Buffer.from(m.data, 'base64').toString()));
            return { messageIds: ['1'] };
          },
          'googleapis.run.v2.projects.locations.jobs.run': async () => ({ name: 'execution' }),
          'googleapis.firestore.v1.projects.databases.documents.get': async (args) => {
            polls.push(clock.now() - started);
            return { name: args.name, fields: { status: { stringValue: status() } } };
          },
        },
      },
    );
    expect(outcome).toEqual({
      ok: true,
      result: expect.objectContaining({ rounds: [{ round: 1, status: 'closed' }] }),
    });
    const deadlines = published.filter((e) => e.type === 'round.deadline');
    // First at once (grace 0), then about every 30 s of the 100 s the round stayed open.
    expect(deadlines.length).toBeGreaterThanOrEqual(3);
    expect(deadlines.length).toBeLessThanOrEqual(5);
    for (const event of deadlines) expect(event).toEqual(deadlineEvent);
    // The poll backs off to 4 s at most: the close after a 100 s wait is seen within 4 s (with the
    // 30 s cap it once had, the round sat closed for up to 30 s before the workflow looked).
    expect(polls.find((t) => t >= 100_000)).toBeLessThanOrEqual(104_000);
  });
});
