// node bin/run-ts.js bench/orchestration-child.ts K ROUNDS [--profile]
// One orchestration scenario in its own process (so its peak RSS is its own); prints one JSON line.
import { runEmbeddedScenario } from './suites/orchestration';

async function main(): Promise<void> {
  const hospitals = Number(process.argv[2]);
  const rounds = Number(process.argv[3] ?? '1');
  if (!Number.isInteger(hospitals) || hospitals < 1 || !Number.isInteger(rounds) || rounds < 1)
    throw new Error('usage: orchestration-child.ts HOSPITALS ROUNDS');
  const result = await runEmbeddedScenario(hospitals, rounds, process.argv[4] === '--profile');
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
