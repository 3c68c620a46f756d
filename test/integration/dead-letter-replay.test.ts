/**
 * Dead-letter replay on the real Pub/Sub emulator: an aggregator unreachable for longer than its
 * subscription's retry window dead-letters an update (the emulator moves it to
 * himas-updates-dead-letter, kept by the hold subscription `himas stack up` and Terraform create);
 * `himas deadletter replay`'s service pulls it from the hold and publishes it again, and it lands in
 * the round it belongs to. The round's documents are on the embedded store (the aggregator's
 * logic is the same over any DocumentStore); everything about dead letters runs on the emulator.
 */
import { PubSub } from '@google-cloud/pubsub';
import { paths, RoundDocumentSchema } from '../../schemas/documents';
import { deadLetterHoldSubscription, deadLetterTopic, TOPICS } from '../../schemas/events';
import { PubSubEventBus } from '../../src/adapters/gcp';
import { PubSubMessageHold } from '../../src/adapters/gcp/pubsub-message-hold';
import { initializeBackend } from '../../src/core/model';
import { startPubSubEmulator } from '../../src/local/emulators';
import { listDeadLetters, replayDeadLetters } from '../../src/services/dead-letter-replay';
import {
  craftUpdate,
  deltaWithNorm,
  receiptsOf,
  setUpRun,
  type RunFixture,
} from '../unit/services/service-fixture';
import { describeWithEmulators, useEmulator } from './emulator-harness';

jest.setTimeout(120_000);

async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describeWithEmulators('dead-letter replay on the Pub/Sub emulator', () => {
  const emulator = useEmulator(() => startPubSubEmulator({ projectId: 'himas-test' }));
  let pubsub: PubSub;
  let bus: PubSubEventBus;
  let hold: PubSubMessageHold;
  let fx: RunFixture | undefined;

  beforeAll(async () => {
    await initializeBackend('auto');
    pubsub = new PubSub({
      projectId: emulator().projectId,
      apiEndpoint: emulator().host,
      emulatorMode: true,
      universeDomain: 'googleapis.com',
    });
    // What `himas stack up` creates (src/local/stack/stack-control.ts), as Terraform does.
    for (const topic of Object.values(TOPICS)) {
      await pubsub.createTopic(topic);
      await pubsub.createTopic(deadLetterTopic(topic));
      await pubsub
        .topic(deadLetterTopic(topic))
        .createSubscription(deadLetterHoldSubscription(topic), { ackDeadlineSeconds: 60 });
    }
    bus = new PubSubEventBus(pubsub, {
      emulator: true,
      retryPolicy: { minimumBackoffSeconds: 1, maximumBackoffSeconds: 1 },
    });
    hold = new PubSubMessageHold(pubsub);
  });
  afterAll(async () => {
    await fx?.close();
    await bus?.close();
    await hold?.close();
    await pubsub?.close();
  });

  it('an update dead-lettered during an aggregator outage replays into its round; replaying again counts nothing twice', async () => {
    const f = await setUpRun({ quorum: 3, noiseMultiplier: 0, secureAggregation: false }, { events: bus });
    fx = f;
    await f.lifecycle.openRound(f.runId, 1);
    const outage = { on: true, refused: 0 };
    await bus.subscribe(
      {
        name: 'himas-aggregate-updates',
        topic: TOPICS.updates,
        maxDeliveryAttempts: 5, // Pub/Sub's least
        deadLetterTopic: deadLetterTopic(TOPICS.updates),
      },
      async (delivery) => {
        if (outage.on) {
          outage.refused++;
          throw new Error('503 Service Unavailable');
        }
        await f.aggregator.handle(delivery);
      },
    );
    const send = async (hospitalId: string, seed: number) => {
      const { data } = await craftUpdate(f, hospitalId, deltaWithNorm(f.numParameters, 1, seed));
      await f.bus.publish(TOPICS.updates, { data, attributes: { type: 'update.submitted', runId: f.runId } });
    };
    await send(f.hospitals[0], 61);

    const held = await eventually(
      () => listDeadLetters(hold, { runId: f.runId }),
      (letters) => letters.length > 0,
      'the update to be dead-lettered',
    );
    expect(outage.refused).toBeGreaterThanOrEqual(5);
    expect(held.map((d) => [d.topic, d.source, d.event?.type, d.event?.round])).toEqual([
      [TOPICS.updates, 'himas-aggregate-updates', 'update.submitted', 1],
    ]);
    expect(await receiptsOf(f)).toHaveLength(0);

    outage.on = false;
    const first = await replayDeadLetters(hold, f.bus, { runId: f.runId });
    expect(first.replayed).toHaveLength(1);
    const receipts = await eventually(
      () => receiptsOf(f),
      (r) => r.length > 0,
      'the replayed update to reach the round',
    );
    expect(receipts.map((r) => [r.hospitalId, r.status])).toEqual([[f.hospitals[0], 'accepted']]);
    // Acknowledged on the hold: a second replay finds nothing; the same message again (a replay
    // that crashed before its acknowledgement) is a duplicate.
    expect((await replayDeadLetters(hold, f.bus, {})).replayed).toHaveLength(0);
    await f.bus.publish(TOPICS.updates, { data: first.replayed[0].held.data, attributes: {} });
    await send(f.hospitals[1], 62);
    await send(f.hospitals[2], 63);
    const round = await eventually(
      async () => RoundDocumentSchema.parse(await f.stack.documents.get(paths.round(f.runId, 1))),
      (doc) => doc.status !== 'open' && doc.status !== 'aggregating',
      'the round to close',
    );
    await bus.idle();
    expect(round.status).toBe('closed');
    expect(round.participants).toEqual([...f.hospitals].sort());
    expect(await receiptsOf(f)).toHaveLength(3);
    expect((await f.lifecycle.getRun(f.runId))!.ledger).toHaveLength(1);
    expect(await listDeadLetters(hold)).toEqual([]);
  });
});
