import { EmbeddedDatabase, EmbeddedEventBus } from '../../../src/adapters/embedded';
import { WriteBatch } from '../../../src/adapters/embedded/write-batch';

describe('WriteBatch', () => {
  test('items added while a flush runs go together in the next one, each with its own result', async () => {
    const flushes: number[][] = [];
    let release!: () => void;
    const firstFlushHeld = new Promise<void>((resolve) => (release = resolve));
    const batch = new WriteBatch<number, string>(async (items) => {
      flushes.push(items);
      if (flushes.length === 1) await firstFlushHeld;
      return items.map((item) => `done ${item}`);
    });
    const first = batch.add(0);
    const rest = [1, 2, 3].map((item) => batch.add(item));
    release();
    expect(await first).toBe('done 0');
    expect(await Promise.all(rest)).toEqual(['done 1', 'done 2', 'done 3']);
    expect(flushes).toEqual([[0], [1, 2, 3]]);
  });

  test('a failed flush rejects only the items it carried', async () => {
    const batch = new WriteBatch<number>(async (items) => {
      if (items.includes(1)) throw new Error('disk full');
      return items.map((): void => undefined);
    });
    const failing = batch.add(1);
    await expect(failing).rejects.toThrow('disk full');
    await expect(batch.add(2)).resolves.toBeUndefined();
  });
});

describe('EmbeddedEventBus group commit', () => {
  test('concurrent publishes keep their order, get distinct ids, and are delivered and acked once', async () => {
    const database = await EmbeddedDatabase.open(':memory:');
    const bus = new EmbeddedEventBus(database, { minBackoffMs: 1, maxBackoffMs: 8 });
    const seen: string[] = [];
    await bus.subscribe({ name: 's', topic: 't' }, async (delivery) => void seen.push(delivery.data));
    const transactions = jest.spyOn(database, 'transaction');
    const ids = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        bus.publish('t', { data: String(i), attributes: {}, orderingKey: 'k' }),
      ),
    );
    // The first publish commits alone; the 29 that arrived while it ran share the next transaction.
    expect(transactions.mock.calls.length).toBeLessThanOrEqual(3);
    transactions.mockRestore();
    expect(new Set(ids).size).toBe(30);
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => a - b));
    await bus.idle();
    // One ordering key: delivered one at a time, in publish order.
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    const states = await database.all<{ state: string; n: bigint }>(
      'SELECT state, count(*) AS n FROM bus_deliveries GROUP BY state',
    );
    expect(states.map((row) => [row.state, Number(row.n)])).toEqual([['acked', 30]]);
    const messages = await database.all<{ n: bigint }>('SELECT count(*) AS n FROM bus_messages');
    expect(Number(messages[0].n)).toBe(30);
    await bus.close();
    await database.close();
  });
});
