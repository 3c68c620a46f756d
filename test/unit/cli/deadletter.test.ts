import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deadLetterHoldSubscription, deadLetterTopic, TOPICS } from '../../../schemas/events';
import { openEmbeddedStack } from '../../../src/adapters/embedded';
import { deadletterCommand } from '../../../src/cli/commands/deadletter';
import { main } from '../../../src/cli/main';
import { killHard, startStoreChild } from '../adapters/embedded-child-process';

jest.setTimeout(60_000);

/** `himas deadletter` on an embedded store: what it prints, what it changes, how it exits. */
describe('himas deadletter (embedded store)', () => {
  let home: string;
  let out: string[];
  let err: string[];
  beforeEach(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'himas-deadletter-'));
    out = [];
    err = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(home, { recursive: true, force: true });
  });

  /** A store whose aggregator subscription gave up on one update (as the bus dead-letters it). */
  async function storeWithOneDeadLetter() {
    const stack = await openEmbeddedStack(home);
    await stack.events.createSubscription({
      name: deadLetterHoldSubscription(TOPICS.updates),
      topic: deadLetterTopic(TOPICS.updates),
    });
    await stack.events.createSubscription({ name: 'himas-aggregate-updates', topic: TOPICS.updates });
    const event = { type: 'update.submitted', id: 'update:run-a:2:h1', runId: 'run-a', round: 2, data: {} };
    await stack.events.publish(deadLetterTopic(TOPICS.updates), {
      data: JSON.stringify(event),
      attributes: { type: 'update.submitted', runId: 'run-a', deadLetterSource: 'himas-aggregate-updates' },
    });
    await stack.close();
  }

  async function pendingOnAggregator(): Promise<string[]> {
    const stack = await openEmbeddedStack(home);
    try {
      return (await stack.events.pull('himas-aggregate-updates')).map((m) => m.attributes.replayedFrom ?? '');
    } finally {
      await stack.close();
    }
  }

  it('lists, replays once to the topic it came from, then has nothing left', async () => {
    await storeWithOneDeadLetter();
    expect(await deadletterCommand.run(['list', '--home', home, '--json'])).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual([
      expect.objectContaining({
        topic: 'himas-updates',
        source: 'himas-aggregate-updates',
        type: 'update.submitted',
        runId: 'run-a',
        round: 2,
        eventId: 'update:run-a:2:h1',
      }),
    ]);
    out = [];
    expect(await deadletterCommand.run(['list', '--home', home, '--run', 'run-b'])).toBe(0);
    expect(out.join('')).toBe('no dead letters of run run-b\n');
    out = [];
    expect(await deadletterCommand.run(['replay', '--home', home, '--topic', 'updates'])).toBe(0);
    expect(out.join('')).toMatch(/replayed himas-updates {2}update.submitted update:run-a:2:h1/);
    expect(out.join('')).toMatch(/1 replayed; .*himas train --resume/);
    expect(await pendingOnAggregator()).toEqual(['himas-updates-dead-letter-hold']);
    out = [];
    expect(await deadletterCommand.run(['replay', '--home', home])).toBe(0);
    expect(out.join('')).toBe('nothing to replay\n');
    expect(await pendingOnAggregator()).toHaveLength(1); // not published a second time
  });

  it('refuses bad input with a one-line reason and exit 2', async () => {
    await storeWithOneDeadLetter();
    expect(await main(['deadletter', 'list', '--home', home, '--topic', 'nope'])).toBe(2);
    expect(err.join('')).toMatch(
      /--topic 'nope' is not a HIMAS topic; use one of himas-rounds, himas-updates/,
    );
    expect(await main(['deadletter', 'purge', '--home', home])).toBe(2);
    expect(err.join('')).toMatch(/unknown deadletter verb 'purge'; use list or replay/);
    expect(await main(['deadletter', 'list', '--home', path.join(home, 'none')])).toBe(2);
    expect(err.join('')).toMatch(/no HIMAS store in .*none yet/);
    expect(await main(['deadletter', 'list', '--home', home, '--stack', 'moon'])).toBe(2);
    expect(await main(['deadletter'])).toBe(2);
  });

  it('says to stop training when a `himas train` holds the store (exit 6)', async () => {
    await storeWithOneDeadLetter();
    const holder = await startStoreChild('hold', home); // another process, as a training run is
    try {
      expect(await main(['deadletter', 'replay', '--home', home])).toBe(6);
      expect(err.join('')).toMatch(/held by a running `himas train`: stop it .*himas train --resume/);
    } finally {
      await killHard(holder);
    }
  });
});
