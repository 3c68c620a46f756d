/**
 * The EventBus contract, shared by every adapter (embedded here; Pub/Sub against its emulator
 * later). Topics and subscriptions get random names per test, so a shared emulator needs no
 * cleanup. Waiting is done by polling observable effects (not only idle()), because a remote bus
 * delivers on its own schedule; `timeoutMs` bounds each wait.
 */
import { randomUUID } from 'node:crypto';
import type { Delivery, EventBus } from '../../src/ports/event-bus';

export interface EventBusFixture {
  bus: EventBus;
  cleanup(): Promise<void>;
}

export interface EventBusContractOptions {
  /** Longest wait for a delivery or redelivery (default 10 s). */
  timeoutMs?: number;
}

export function describeEventBusContract(
  name: string,
  makeBus: () => Promise<EventBusFixture>,
  options: EventBusContractOptions = {},
): void {
  const timeoutMs = options.timeoutMs ?? 10_000;

  describe(`EventBus contract: ${name}`, () => {
    let fixture: EventBusFixture;
    let bus: EventBus;
    let unique: (base: string) => string;

    beforeEach(async () => {
      fixture = await makeBus();
      bus = fixture.bus;
      const suffix = randomUUID().slice(0, 8);
      unique = (base) => `${base}-${suffix}`;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    async function eventually(condition: () => boolean, what: string): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }

    test('delivers data and attributes with a stable message id', async () => {
      const topic = unique('himas-rounds');
      const received: Delivery[] = [];
      await bus.subscribe({ name: unique('sub'), topic }, async (delivery) => {
        received.push(delivery);
      });
      const messageId = await bus.publish(topic, {
        data: JSON.stringify({ type: 'round.started', round: 1 }),
        attributes: { type: 'round.started', runId: 'r1' },
      });
      await eventually(() => received.length === 1, 'the delivery');
      const [delivery] = received;
      expect(delivery.messageId).toBe(messageId);
      expect(delivery.topic).toBe(topic);
      expect(JSON.parse(delivery.data)).toEqual({ type: 'round.started', round: 1 });
      expect(delivery.attributes).toEqual({ type: 'round.started', runId: 'r1' });
      expect(delivery.deliveryAttempt).toBe(1);
      expect(Number.isNaN(Date.parse(delivery.publishTime))).toBe(false);
    });

    test('every subscription of a topic gets its own copy; other topics get none', async () => {
      const topic = unique('himas-models');
      const seen: string[] = [];
      await bus.subscribe({ name: unique('a'), topic }, async () => void seen.push('a'));
      await bus.subscribe({ name: unique('b'), topic }, async () => void seen.push('b'));
      await bus.subscribe({ name: unique('c'), topic: unique('other') }, async () => void seen.push('c'));
      await bus.publish(topic, { data: 'x', attributes: {} });
      await eventually(() => seen.length >= 2, 'both subscriptions');
      await bus.idle();
      expect(seen.sort()).toEqual(['a', 'b']);
    });

    test('a failed delivery is redelivered (at least once) with growing attempt numbers', async () => {
      const topic = unique('himas-updates');
      const attempts: Array<{ id: string; attempt: number }> = [];
      let succeeded = false;
      await bus.subscribe({ name: unique('sub'), topic, maxDeliveryAttempts: 5 }, async (delivery) => {
        attempts.push({ id: delivery.messageId, attempt: delivery.deliveryAttempt });
        if (delivery.deliveryAttempt < 3) throw new Error(`transient failure ${delivery.deliveryAttempt}`);
        succeeded = true;
      });
      const messageId = await bus.publish(topic, {
        data: 'retry me',
        attributes: { type: 'update.submitted' },
      });
      await eventually(() => succeeded, 'the third attempt');
      expect(attempts).toEqual([
        { id: messageId, attempt: 1 },
        { id: messageId, attempt: 2 },
        { id: messageId, attempt: 3 },
      ]);
    });

    test('a message that fails maxDeliveryAttempts times goes to the dead-letter topic', async () => {
      const topic = unique('himas-updates');
      const deadLetterTopic = unique('himas-updates-dead-letter');
      const subscription = unique('aggregate');
      const attempts: number[] = [];
      const deadLetters: Delivery[] = [];
      // The dead-letter topic needs its own subscription before anything is dead-lettered to it.
      await bus.subscribe({ name: unique('dead-letters'), topic: deadLetterTopic }, async (delivery) => {
        deadLetters.push(delivery);
      });
      // 5 is Pub/Sub's minimum for dead-lettering.
      await bus.subscribe(
        { name: subscription, topic, maxDeliveryAttempts: 5, deadLetterTopic },
        async (delivery) => {
          attempts.push(delivery.deliveryAttempt);
          throw new Error('poison');
        },
      );
      await bus.publish(topic, { data: 'poison', attributes: { type: 'update.submitted', runId: 'r1' } });
      await eventually(() => deadLetters.length === 1, 'the dead letter');
      expect(attempts).toEqual([1, 2, 3, 4, 5]);
      expect(deadLetters[0].data).toBe('poison');
      expect(deadLetters[0].attributes).toMatchObject({ type: 'update.submitted', runId: 'r1' });
      expect(deadLetters[0].attributes.deadLetterSource).toContain(subscription);
    });

    test('messages with one ordering key arrive one at a time, in publish order, even across a retry', async () => {
      const topic = unique('himas-rounds');
      const handled: Record<string, number[]> = { k1: [], k2: [] };
      const running: Record<string, number> = { k1: 0, k2: 0 };
      let overlapped = false;
      let failedOnce = false;
      await bus.subscribe({ name: unique('ordered'), topic, maxDeliveryAttempts: 5 }, async (delivery) => {
        const { key, index } = JSON.parse(delivery.data) as { key: string; index: number };
        running[key] += 1;
        if (running[key] > 1) overlapped = true;
        try {
          await new Promise((resolve) => setTimeout(resolve, (index * 7) % 5));
          if (key === 'k1' && index === 2 && !failedOnce) {
            failedOnce = true;
            throw new Error('fail once');
          }
          handled[key].push(index);
        } finally {
          running[key] -= 1;
        }
      });
      for (let index = 0; index < 8; index += 1) {
        for (const key of ['k1', 'k2']) {
          await bus.publish(topic, {
            data: JSON.stringify({ key, index }),
            attributes: {},
            orderingKey: key,
          });
        }
      }
      await eventually(() => handled.k1.length === 8 && handled.k2.length === 8, 'all ordered messages');
      expect(handled.k1).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(handled.k2).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(failedOnce).toBe(true);
      expect(overlapped).toBe(false);
    });

    test('idle() resolves once everything published has been handled, retries included', async () => {
      const topic = unique('himas-alerts');
      const handled = new Set<string>();
      await bus.subscribe({ name: unique('sub'), topic, maxDeliveryAttempts: 5 }, async (delivery) => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (delivery.data === 'flaky' && delivery.deliveryAttempt === 1) throw new Error('flaky');
        handled.add(delivery.data);
      });
      for (const data of ['a', 'b', 'flaky', 'c']) await bus.publish(topic, { data, attributes: {} });
      await bus.idle();
      expect([...handled].sort()).toEqual(['a', 'b', 'c', 'flaky']);
    });
  });
}
