import { readdirSync, readFileSync } from 'node:fs';

/**
 * The processes under a pid, read from /proc (Linux), so the suite can SIGKILL one hospital job
 * of a running `himas train` without touching the CLI itself.
 */
export function descendants(root: number): Array<{ pid: number; commandLine: string }> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) may hold spaces and parentheses: fields after its last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // exited while we looked
    }
  }
  const found: Array<{ pid: number; commandLine: string }> = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [pid, ppid] of parents) {
      if (ppid !== parent) continue;
      frontier.push(pid);
      let commandLine = '';
      try {
        commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      } catch {
        // exited while we looked
      }
      found.push({ pid, commandLine });
    }
  }
  return found;
}

/** The hospital jobs (jobs/train/main.ts) running under `root`. */
export function hospitalJobs(root: number): number[] {
  return descendants(root)
    .filter((p) => p.commandLine.includes('jobs/train/main.ts'))
    .map((p) => p.pid);
}

export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A process's environment (what the job runner gave a hospital job); empty once it exited. */
export function environmentOf(pid: number): Record<string, string> {
  try {
    const pairs = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return Object.fromEntries(
      pairs
        .filter((p) => p.includes('='))
        .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
    );
  } catch {
    return {};
  }
}
