import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { FileHospitalKeyStore } from '../../adapters/keys/file-hospital-key-store';
import { parseCommandArgs, stringFlag } from '../args';
import { checkDeployment, describeFindings, loadDeploymentFacts, parseHcl } from '../deploy-check';
import { exitCode } from '../exit-codes';
import type { Command } from '../main';
import { UserError } from '../user-error';

const HELP = `Usage: himas deploy check [--var-file FILE] [--json]
       himas deploy signing-key --hospital ID --out DIR

check        Before \`terraform apply\`: checks the variables (FILE, default terraform/terraform.tfvars,
             plus what cloudbuild.yaml passes) for what the google provider and the APIs would
             reject: service-account ids of 6-30 characters, bucket names of at most 63, hospital
             ids, required variables, the region (Cloud Run L4 GPUs), the job image against
             cloudbuild.yaml, pinned signing-key and Gemini key versions, the job timeout against
             the workflow's wait. Exit 0 when nothing would be rejected (warnings say what would
             apply but not train), 2 otherwise.
signing-key  Writes a hospital's new Ed25519 signing key, DIR/<ID>.signing.json (mode 0600), for
             \`gcloud secrets versions add himas-signing-key-<ID> --data-file=DIR/<ID>.signing.json\`.
             Refuses to overwrite an existing key file. Keep the file where the hospital keeps secrets.
             Prints the \`himas hospitals enrol\` line for the operator: a hospital never enrols itself.

docs/operations.md walks through a deployment in order.`;

/** The repository root (terraform/, cloudbuild.yaml), from this file's place in it. */
const REPO_ROOT = path.join(__dirname, '..', '..', '..');

export const deployCommand: Command = {
  summary: 'check a deployment before terraform apply; make a hospital signing key (himas deploy)',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub || sub === '--help' || sub === '-h') {
      process.stdout.write(`${HELP}\n`);
      return sub ? 0 : exitCode('usage');
    }
    if (sub === 'check') return check(rest);
    if (sub === 'signing-key') return signingKey(rest);
    throw new UserError(`unknown \`himas deploy\` command '${sub}'; commands: check, signing-key`);
  },
};

async function check(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('deploy check', argv, {
    'var-file': { type: 'string' },
    json: { type: 'boolean' },
  });
  const file = path.resolve(
    stringFlag(values, 'var-file') ?? path.join(REPO_ROOT, 'terraform', 'terraform.tfvars'),
  );
  if (!existsSync(file))
    throw new UserError(
      `no variables file ${file}: write terraform/terraform.tfvars (docs/operations.md, step 5) or pass --var-file FILE`,
    );
  let vars: Record<string, unknown>;
  try {
    vars = await parseHcl(path.basename(file), readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${file} is not valid HCL: ${(error as Error).message.split('\n')[0]}`);
  }
  const findings = checkDeployment(await loadDeploymentFacts(REPO_ROOT), vars);
  if (values.json) process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
  else process.stdout.write(`${describeFindings(path.relative(process.cwd(), file) || file, findings)}\n`);
  return findings.some((f) => f.level === 'error') ? exitCode('usage') : 0;
}

async function signingKey(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('deploy signing-key', argv, {
    hospital: { type: 'string' },
    out: { type: 'string' },
  });
  const hospital = stringFlag(values, 'hospital');
  const out = stringFlag(values, 'out');
  if (!hospital || !out) throw new UserError('`himas deploy signing-key` needs --hospital ID and --out DIR');
  if (!/^[a-z][a-z0-9-]{0,16}[a-z0-9]$/.test(hospital))
    throw new UserError(
      `--hospital '${hospital}' is not a hospital id (lower-case letters, digits and '-', at most 18)`,
    );
  const file = path.join(path.resolve(out), `${hospital}.signing.json`);
  if (existsSync(file))
    throw new UserError(
      `${file} already exists: a hospital keeps one key; for a new one write it to another --out DIR and have the operator rotate to it (himas hospitals rotate ${hospital} --stack gcp --signing-key … --masking-key …)`,
    );
  const store = new FileHospitalKeyStore(path.resolve(out));
  const key = await store.ensureSigningKey(hospital);
  const masking = await store.maskingKey(hospital);
  // The hospital never enrols itself: the operator enrols these public keys (only they leave).
  process.stdout.write(
    `${file}\npublic key ${key.publicKey}\nnext: gcloud secrets versions add himas-signing-key-${hospital} --data-file=${path.relative(process.cwd(), file) || file}\nthen (the operator): npx himas hospitals enrol ${hospital} --stack gcp --signing-key ${key.publicKey} --masking-key ${masking.publicKey}\n`,
  );
  return 0;
}
