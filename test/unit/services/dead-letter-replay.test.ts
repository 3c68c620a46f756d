import { paths, RoundDocumentSchema } from '../../../schemas/documents';
import { deadLetterHoldSubscription, deadLetterTopic, TOPICS } from '../../../schemas/events';
import { initializeBackend } from '../../../src/core/model';
import { memoryLogger } from '../../../src/logging/logger';
import { Aggregator } from '../../../src/services/aggregator';
import { listDeadLetters, replayDeadLetters } from '../../../src/services/dead-letter-replay';
import { makeEvent } from '../../../src/services/event-publishing';
import { CryptoRandom } from '../../../src/runtime/crypto-random';
import { craftUpdate, deltaWithNorm, receiptsOf, setUpRun, type RunFixture } from './service-fixture';

jest.setTimeout(60_000);

beforeAll(async () => {
  await initializeBackend('auto');
});

let fx: RunFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

/**
 * The aggregator's subscription on the embedded bus, with the hold Terraform and the embedded
 * platform give its dead-letter topic; `reachable` false is an aggregator outage longer than the
 * retry window (here one attempt).
 */
async function aggregatorBehindBus(f: RunFixture) {
  const state = { reachable: false };
  await f.stack.events.createSubscription({
    name: deadLetterHoldSubscription(TOPICS.updates),
    topic: deadLetterTopic(TOPICS.updates),
  });
  await f.stack.events.subscribe(
    {
      name: 'himas-aggregate-updates',
      topic: TOPICS.updates,
      maxDeliveryAttempts: 1,
      deadLetterTopic: deadLetterTopic(TOPICS.updates),
    },
    async (delivery) => {
      if (!state.reachable) throw new Error('503 Service Unavailable');
      await f.aggregator.handle(delivery);
    },
  );
  return state;
}

const send = async (f: RunFixture, hospitalId: string, seed: number) => {
  const { data } = await craftUpdate(f, hospitalId, deltaWithNorm(f.numParameters, 1, seed));
  await f.bus.publish(TOPICS.updates, { data, attributes: { type: 'update.submitted', runId: f.runId } });
};

describe('dead-letter replay', () => {
  it('replays an update dead-lettered during an outage into its round, and a second replay counts nothing twice', async () => {
    const f = await setUpRun({ quorum: 3, noiseMultiplier: 0, secureAggregation: false });
    fx = f;
    await f.lifecycle.openRound(f.runId, 1);
    const aggregator = await aggregatorBehindBus(f);
    await send(f, f.hospitals[0], 91);
    await f.stack.events.idle();
    expect(await receiptsOf(f)).toHaveLength(0);

    const held = await listDeadLetters(f.stack.events, { runId: f.runId });
    expect(held.map((d) => [d.topic, d.source, d.event?.type, d.event?.round])).toEqual([
      [TOPICS.updates, 'himas-aggregate-updates', 'update.submitted', 1],
    ]);
    expect(await listDeadLetters(f.stack.events, { runId: 'another-run' })).toEqual([]);
    expect(await listDeadLetters(f.stack.events, { runId: f.runId })).toHaveLength(1); // listing consumes nothing

    aggregator.reachable = true;
    const first = await replayDeadLetters(f.stack.events, f.bus, { runId: f.runId, topic: 'updates' });
    expect(first.replayed).toHaveLength(1);
    await f.stack.events.idle();
    expect((await receiptsOf(f)).map((r) => [r.hospitalId, r.status])).toEqual([
      [f.hospitals[0], 'accepted'],
    ]);
    const replayedMessage = f.bus.published.at(-1)!;
    expect(replayedMessage.topic).toBe(TOPICS.updates);

    // Nothing is left to replay; and the same message published again (a replay that crashed
    // between its publish and its acknowledgement) is a duplicate, not a second update.
    expect((await replayDeadLetters(f.stack.events, f.bus, {})).replayed).toHaveLength(0);
    await f.bus.publish(TOPICS.updates, { data: first.replayed[0].held.data, attributes: {} });
    await send(f, f.hospitals[1], 92);
    await send(f, f.hospitals[2], 93);
    await f.stack.events.idle();
    const round = RoundDocumentSchema.parse(await f.stack.documents.get(paths.round(f.runId, 1)));
    expect(round.status).toBe('closed');
    expect(round.participants).toEqual([...f.hospitals].sort());
    expect(await receiptsOf(f)).toHaveLength(3);
    expect(f.bus.ofType('round.closed')).toHaveLength(1);
    expect((await f.lifecycle.getRun(f.runId))!.ledger).toHaveLength(1);
  });

  it('a round short of quorum waits past its deadline for updates sent but never received, then fails naming them', async () => {
    const f = await setUpRun({ quorum: 3, secureAggregation: false });
    fx = f;
    const logger = memoryLogger();
    const aggregator = new Aggregator({
      documents: f.stack.documents,
      blobs: f.stack.blobs,
      events: f.bus,
      models: f.models,
      clock: f.clock,
      logger,
      random: new CryptoRandom(),
      instanceId: 'aggregator-deadline',
    });
    await f.lifecycle.openRound(f.runId, 1);
    const [h1, h2, h3] = f.hospitals;
    await aggregator.handle(await craftUpdate(f, h1, deltaWithNorm(f.numParameters, 1, 94)));
    await aggregator.handle(await craftUpdate(f, h2, deltaWithNorm(f.numParameters, 1, 95)));
    // h3 uploaded and sent its update; the message was dead-lettered (never handled here).
    const lost = await craftUpdate(f, h3, deltaWithNorm(f.numParameters, 1, 96));
    const deadline = () => ({
      data: JSON.stringify(
        makeEvent('round.deadline', {
          id: `round.deadline:${f.runId}:1`,
          runId: f.runId,
          round: 1,
          time: f.clock.now(),
          data: { deadline: f.clock.now().toISOString() },
        }),
      ),
    });
    await aggregator.handle(deadline());
    const waiting = RoundDocumentSchema.parse(await f.stack.documents.get(paths.round(f.runId, 1)));
    expect(waiting.status).toBe('open');
    expect(logger.entries.find((e) => e.event === 'round.awaiting-replay')).toEqual(
      expect.objectContaining({
        unreceived: [h3],
        message: expect.stringContaining('himas deadletter replay'),
      }),
    );

    // Replayed within the window: the round closes with all three.
    await aggregator.handle(lost);
    const closed = RoundDocumentSchema.parse(await f.stack.documents.get(paths.round(f.runId, 1)));
    expect(closed.status).toBe('closed');
    expect(closed.participants).toEqual([h1, h2, h3].sort());
  });

  it('fails the round once the replay window has passed, pointing at the dead letters', async () => {
    const f = await setUpRun({ quorum: 3, secureAggregation: false, deadlineSeconds: 600 });
    fx = f;
    await f.lifecycle.openRound(f.runId, 1);
    const [h1, h2, h3] = f.hospitals;
    await f.aggregator.handle(await craftUpdate(f, h1, deltaWithNorm(f.numParameters, 1, 97)));
    await craftUpdate(f, h3, deltaWithNorm(f.numParameters, 1, 98)); // uploaded, never received
    f.clock.advance(600_000);
    await f.aggregator.handle(await craftUpdate(f, h2, deltaWithNorm(f.numParameters, 1, 99)));
    expect(RoundDocumentSchema.parse(await f.stack.documents.get(paths.round(f.runId, 1))).status).toBe(
      'open',
    );
    f.clock.advance(600_000);
    await f.aggregator.handle(await craftUpdate(f, h2, deltaWithNorm(f.numParameters, 1, 99)));
    const failed = RoundDocumentSchema.parse(await f.stack.documents.get(paths.round(f.runId, 1)));
    expect(failed.status).toBe('failed');
    expect(failed.failureReason).toMatch(
      new RegExp(
        `${h3} uploaded an update that never reached the aggregator.*himas deadletter list --run ${f.runId}`,
      ),
    );
  });

  it('fails at the deadline as before when even the unreceived updates could not make the quorum', async () => {
    const f = await setUpRun({ quorum: 3, secureAggregation: false });
    fx = f;
    await f.lifecycle.openRound(f.runId, 1);
    await f.aggregator.handle(await craftUpdate(f, f.hospitals[0], deltaWithNorm(f.numParameters, 1, 100)));
    f.clock.advance(3_600_000);
    await f.aggregator.handle(await craftUpdate(f, f.hospitals[0], deltaWithNorm(f.numParameters, 1, 100)));
    const failed = RoundDocumentSchema.parse(await f.stack.documents.get(paths.round(f.runId, 1)));
    expect(failed.status).toBe('failed');
    expect(failed.failureReason).toBe('1 accepted update(s), quorum is 3 (deadline passed)');
  });
});
