import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import type { LeaseHolder } from '../../schemas/documents';
import type { LeaseHolderProbe } from '../services/aggregation/aggregator-context';

/**
 * Proves a lease holder dead when it ran on this machine: same host and boot (Linux's
 * /proc/sys/kernel/random/boot_id), and its pid either no longer exists or belongs to a process
 * that started at another time (/proc/<pid>/stat field 22, starttime in clock ticks since boot;
 * proc(5)). Only the local stacks use it: there every aggregator is a process on this machine, so a
 * `kill -9` is recoverable at once instead of after the lease's expiry. Where /proc is missing
 * (macOS, a sandbox) it proves nothing and the lease's expiry decides.
 */
export function localProcessLiveness(): LeaseHolderProbe | undefined {
  const bootId = readBootId();
  const startTicks = bootId === undefined ? undefined : processStartTicks(process.pid);
  if (bootId === undefined || startTicks === undefined) return undefined;
  const self: LeaseHolder = { host: os.hostname(), bootId, pid: process.pid, startTicks };
  return {
    self: () => self,
    isGone(holder) {
      if (holder.host !== self.host) return false;
      // Another boot of this machine: every process of the old one is gone.
      if (holder.bootId !== self.bootId) return true;
      if (holder.pid === self.pid) return holder.startTicks !== self.startTicks;
      const current = processStartTicks(holder.pid);
      return current === undefined || current !== holder.startTicks;
    },
  };
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Field 22 of /proc/<pid>/stat; undefined when there is no such process, or only its zombie (a
 * killed process its parent has not reaped yet runs nothing).
 */
export function processStartTicks(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}
