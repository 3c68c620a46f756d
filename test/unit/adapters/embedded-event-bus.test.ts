import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EmbeddedDatabase, EmbeddedDocumentStore, EmbeddedEventBus } from '../../../src/adapters/embedded';
import type { Delivery } from '../../../src/ports/event-bus';
import { describeEventBusContract } from '../../contract/event-bus.contract';

// Tiny backoffs keep the retry and dead-letter tests fast.
const fast = { minBackoffMs: 1, maxBackoffMs: 8 };

describeEventBusContract('embedded (DuckDB in memory)', async () => {
  const bus = new EmbeddedEventBus(await EmbeddedDatabase.open(':memory:'), { ...fast, closeDatabase: true });
  return { bus, cleanup: () => bus.close() };
});

describe('EmbeddedEventBus', () => {
  let home: string;
  let file: string;
  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'himas-bus-'));
    file = path.join(home, 'himas.duckdb');
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test('never calls the handler inside publish', async () => {
    const bus = new EmbeddedEventBus(await EmbeddedDatabase.open(':memory:'), {
      ...fast,
      closeDatabase: true,
    });
    let handled = 0;
    await bus.subscribe({ name: 's', topic: 't' }, async () => void (handled += 1));
    await bus.publish('t', { data: 'x', attributes: {} });
    expect(handled).toBe(0);
    await bus.idle();
    expect(handled).toBe(1);
    await bus.close();
  });

  test('a delivery whose handler never finished is redelivered by the next bus (crash simulation)', async () => {
    const first = new EmbeddedEventBus(await EmbeddedDatabase.open(file), { ...fast, closeDatabase: true });
    const started: Delivery[] = [];
    await first.subscribe({ name: 'aggregate', topic: 'himas-updates' }, (delivery) => {
      started.push(delivery);
      return new Promise<void>(() => undefined); // hangs, as in a process that died mid-handler
    });
    const messageId = await first.publish('himas-updates', { data: 'u1', attributes: { runId: 'r1' } });
    while (started.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    await first.close();

    const second = new EmbeddedEventBus(await EmbeddedDatabase.open(file), { ...fast, closeDatabase: true });
    const redelivered: Delivery[] = [];
    await second.subscribe({ name: 'aggregate', topic: 'himas-updates' }, async (delivery) => {
      redelivered.push(delivery);
    });
    await second.idle();
    expect(redelivered).toHaveLength(1);
    expect(redelivered[0]).toMatchObject({
      messageId,
      data: 'u1',
      attributes: { runId: 'r1' },
      deliveryAttempt: 2,
    });
    await second.close();
  });

  test('a subscription keeps messages published while no handler is attached', async () => {
    const bus = new EmbeddedEventBus(await EmbeddedDatabase.open(':memory:'), {
      ...fast,
      closeDatabase: true,
    });
    await bus.publish('t', { data: 'before the subscription existed', attributes: {} });
    await bus.createSubscription({ name: 's', topic: 't' });
    await bus.publish('t', { data: 'kept', attributes: {} });
    const received: string[] = [];
    await bus.subscribe({ name: 's', topic: 't' }, async (delivery) => void received.push(delivery.data));
    await bus.idle();
    expect(received).toEqual(['kept']);
    await bus.close();
  });

  test('idle() waits out a retry backoff', async () => {
    const bus = new EmbeddedEventBus(await EmbeddedDatabase.open(':memory:'), {
      minBackoffMs: 150,
      maxBackoffMs: 150,
      closeDatabase: true,
    });
    const attempts: number[] = [];
    await bus.subscribe({ name: 's', topic: 't' }, async (delivery) => {
      attempts.push(delivery.deliveryAttempt);
      if (delivery.deliveryAttempt === 1) throw new Error('once');
    });
    await bus.publish('t', { data: 'x', attributes: {} });
    const started = Date.now();
    await bus.idle();
    expect(attempts).toEqual([1, 2]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await bus.close();
  });

  test('messages without an ordering key run concurrently, up to the cap', async () => {
    const bus = new EmbeddedEventBus(await EmbeddedDatabase.open(':memory:'), {
      ...fast,
      maxConcurrentDeliveries: 3,
      closeDatabase: true,
    });
    let running = 0;
    let peak = 0;
    await bus.subscribe({ name: 's', topic: 't' }, async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 10));
      running -= 1;
    });
    for (let i = 0; i < 10; i += 1) await bus.publish('t', { data: String(i), attributes: {} });
    await bus.idle();
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(3);
    await bus.close();
  });

  test('a finished delivery with nothing waiting costs no scan; one waiting for a slot or its ordering key still starts', async () => {
    const database = await EmbeddedDatabase.open(':memory:');
    const bus = new EmbeddedEventBus(database, { ...fast, maxConcurrentDeliveries: 2, closeDatabase: true });
    let scans = 0;
    const all = database.all.bind(database);
    database.all = ((sql: string, params?: never) => {
      if (sql.includes('FROM bus_deliveries d JOIN bus_messages m')) scans += 1;
      return all(sql, params);
    }) as typeof database.all;
    const received: string[] = [];
    await bus.subscribe({ name: 's', topic: 't' }, async (delivery) => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      received.push(delivery.data);
    });
    await bus.idle();
    // One at a time: each publish scans once and starts its message; its end needs no second look.
    scans = 0;
    for (let i = 0; i < 5; i += 1) {
      await bus.publish('t', { data: `alone-${i}`, attributes: {} });
      await bus.idle();
    }
    expect(received).toHaveLength(5);
    expect(scans).toBeLessThanOrEqual(5 + 1);
    // More than the 2 slots, and three under one ordering key: every one is delivered, in key order.
    received.length = 0;
    await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => bus.publish('t', { data: `free-${i}`, attributes: {} })),
      ...[0, 1, 2].map((i) => bus.publish('t', { data: `keyed-${i}`, attributes: {}, orderingKey: 'k' })),
    ]);
    await bus.idle();
    expect(received).toHaveLength(7);
    expect(received.filter((d) => d.startsWith('keyed-'))).toEqual(['keyed-0', 'keyed-1', 'keyed-2']);
    await bus.close();
  });

  test('a publish inside a document transaction is rolled back with it', async () => {
    const database = await EmbeddedDatabase.open(':memory:');
    const documents = new EmbeddedDocumentStore(database);
    const bus = new EmbeddedEventBus(database, fast);
    const received: string[] = [];
    await bus.subscribe({ name: 's', topic: 't' }, async (delivery) => void received.push(delivery.data));
    await expect(
      documents.runTransaction(async (tx) => {
        tx.set('runs/r1', { status: 'closed' });
        await bus.publish('t', { data: 'rolled back', attributes: {} });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await documents.runTransaction(async (tx) => {
      tx.set('runs/r1', { status: 'closed' });
      await bus.publish('t', { data: 'committed', attributes: {} });
    });
    await bus.idle();
    expect(received).toEqual(['committed']);
    await bus.close();
    await database.close();
  });

  test('refuses a second handler for one subscription and a subscription moving topics', async () => {
    const bus = new EmbeddedEventBus(await EmbeddedDatabase.open(':memory:'), {
      ...fast,
      closeDatabase: true,
    });
    await bus.subscribe({ name: 's', topic: 't' }, async () => undefined);
    await expect(bus.subscribe({ name: 's', topic: 't' }, async () => undefined)).rejects.toThrow(/already/);
    await expect(bus.createSubscription({ name: 's', topic: 'other' })).rejects.toThrow(
      /already exists on topic t/,
    );
    await bus.close();
  });
});
