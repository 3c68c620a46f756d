import { spawn, spawnSync } from 'node:child_process';
import { paths, type LeaseHolder } from '../../../../schemas/documents';
import { initializeBackend } from '../../../../src/core/model';
import { localProcessLiveness, processStartTicks } from '../../../../src/runtime/local-process-liveness';
import { AggregatorContext } from '../../../../src/services/aggregation/aggregator-context';
import { LeaseLostError, takeLease } from '../../../../src/services/aggregation/round-lease';
import { RetryLaterError } from '../../../../src/services/aggregator';
import { makeEvent } from '../../../../src/services/event-publishing';
import { craftUpdate, deltaWithNorm, setUpRun, versionOf, type RunFixture } from '../service-fixture';

jest.setTimeout(60_000);

beforeAll(async () => {
  await initializeBackend('auto');
});

let fx: RunFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const probe = localProcessLiveness()!;

/** A process of this machine that has exited (and was reaped): its pid names no live process. */
function deadHolder(): LeaseHolder {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const pid = Number(child.stdout.toString());
  expect(processStartTicks(pid)).toBeUndefined();
  return { ...probe.self(), pid, startTicks: '1' };
}

function deadlineDelivery(f: RunFixture) {
  const event = makeEvent('round.deadline', {
    id: `round.deadline:${f.runId}:1`,
    runId: f.runId,
    round: 1,
    time: f.clock.now(),
    data: { deadline: f.clock.now().toISOString() },
  });
  return { data: JSON.stringify(event) };
}

/**
 * The crash the issue reproduced: a round left `aggregating` under a lease whose holder was killed
 * (kill -9 during aggregation) with most of its lease still to run.
 */
async function roundLeftAggregatingBy(holder: LeaseHolder | null, expiresInMs = 100_000) {
  const f = await setUpRun({ quorum: 2 }, { leaseHolders: probe });
  fx = f;
  await f.lifecycle.openRound(f.runId, 1);
  const [h1, h2] = f.hospitals;
  await f.aggregator.handle(await craftUpdate(f, h1, deltaWithNorm(f.numParameters, 1, 81)));
  await f.aggregator.handle(await craftUpdate(f, h2, deltaWithNorm(f.numParameters, 1, 82)));
  await f.stack.documents.update(paths.round(f.runId, 1), {
    status: 'aggregating',
    lease: {
      owner: 'aggregator-killed/0000',
      expiresAt: new Date(f.clock.now().getTime() + expiresInMs).toISOString(),
      holder,
    },
  });
  return f;
}

describe('round lease: recovery without waiting for its expiry', () => {
  it('takes over at once a lease whose holder process is gone, and closes the round once', async () => {
    const f = await roundLeftAggregatingBy(deadHolder());
    await f.aggregator.handle(deadlineDelivery(f));
    const doc = (await f.lifecycle.getRound(f.runId, 1))!;
    expect(doc.status).toBe('closed');
    expect(doc.lease).toBeNull();
    expect(await f.models.get(versionOf(f, 1))).toBeDefined();
    expect(f.bus.ofType('round.closed')).toHaveLength(1);
  });

  it('treats a reused pid (same pid, another start time) as gone', async () => {
    const f = await roundLeftAggregatingBy({ ...probe.self(), startTicks: '1' });
    await f.aggregator.handle(deadlineDelivery(f));
    expect((await f.lifecycle.getRound(f.runId, 1))!.status).toBe('closed');
  });

  it('does not take over from a live holder (this very process) before expiry', async () => {
    const f = await roundLeftAggregatingBy(probe.self());
    await expect(f.aggregator.handle(deadlineDelivery(f))).rejects.toBeInstanceOf(RetryLaterError);
    const doc = (await f.lifecycle.getRound(f.runId, 1))!;
    expect(doc.status).toBe('aggregating');
    expect(doc.lease!.owner).toBe('aggregator-killed/0000');
    expect(await f.models.get(versionOf(f, 1))).toBeUndefined();
  });

  it('cannot prove a holder on another machine (or one with no identity) dead: waits for the expiry', async () => {
    const f = await roundLeftAggregatingBy({ ...deadHolder(), host: 'another-host' });
    await expect(f.aggregator.handle(deadlineDelivery(f))).rejects.toBeInstanceOf(RetryLaterError);
    await f.stack.documents.update(paths.round(f.runId, 1), {
      lease: {
        owner: 'aggregator-cloud/1111',
        expiresAt: new Date(f.clock.now().getTime() + 100_000).toISOString(),
        holder: null,
      },
    });
    await expect(f.aggregator.handle(deadlineDelivery(f))).rejects.toBeInstanceOf(RetryLaterError);
    f.clock.advance(100_001);
    await f.aggregator.handle(deadlineDelivery(f));
    expect((await f.lifecycle.getRound(f.runId, 1))!.status).toBe('closed');
  });

  it('a real process killed with SIGKILL is gone from the moment it dies, before its parent reaps it', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('spawn', resolve));
    const holder: LeaseHolder = {
      ...probe.self(),
      pid: child.pid!,
      startTicks: processStartTicks(child.pid!)!,
    };
    expect(probe.isGone(holder)).toBe(false);
    process.kill(child.pid!, 'SIGKILL');
    for (let waited = 0; !probe.isGone(holder); waited += 10) {
      if (waited > 5_000) throw new Error('a SIGKILLed process still looks alive');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) =>
      child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve),
    );
    expect(probe.isGone(holder)).toBe(true);
  });

  it('a holder on another boot of this machine is gone', () => {
    expect(probe.isGone({ ...probe.self(), bootId: 'an-earlier-boot' })).toBe(true);
    expect(probe.isGone(probe.self())).toBe(false);
  });
});

describe('round lease: renewal and the fence before the release', () => {
  async function leasedRound() {
    const f = await roundLeftAggregatingBy(null, -1);
    const ctx = new AggregatorContext({
      documents: f.stack.documents,
      blobs: f.stack.blobs,
      events: f.bus,
      models: f.models,
      clock: f.clock,
      logger: { write: () => undefined },
      random: { fill: () => undefined } as never,
      instanceId: 'aggregator-test',
      leaseSeconds: 30,
      leaseHolders: probe,
    });
    const lease = (await takeLease(ctx, f.runId, 1))!;
    return { f, ctx, lease };
  }

  it('records this process as the holder and renews the expiry while it is held', async () => {
    const { f, lease } = await leasedRound();
    try {
      const taken = (await f.lifecycle.getRound(f.runId, 1))!.lease!;
      expect(taken.owner).toBe(lease.token);
      expect(taken.holder).toEqual(probe.self());
      expect(new Date(taken.expiresAt).getTime()).toBe(f.clock.now().getTime() + 30_000);
      f.clock.advance(20_000);
      await lease.confirm();
      const renewed = (await f.lifecycle.getRound(f.runId, 1))!.lease!;
      expect(new Date(renewed.expiresAt).getTime()).toBe(f.clock.now().getTime() + 30_000);
    } finally {
      lease.stop();
    }
  });

  it('a holder whose lease was taken over fails the fence (its noise is never published)', async () => {
    const { f, ctx, lease } = await leasedRound();
    try {
      f.clock.advance(30_001); // paused past its expiry
      const successor = (await takeLease(ctx, f.runId, 1))!;
      successor.stop();
      await expect(lease.confirm()).rejects.toBeInstanceOf(LeaseLostError);
      await expect(lease.confirm()).rejects.toThrow(/lease .* was lost/);
      await successor.confirm();
    } finally {
      lease.stop();
    }
  });
});
