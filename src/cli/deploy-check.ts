import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { didYouMean } from './suggest';

/**
 * `himas deploy check`: what the google provider and the APIs would reject, checked from the files
 * before `terraform apply` (issue 15). The facts come from the repository itself (terraform/*.tf,
 * cloudbuild.yaml, the workflow), so a renamed component or a new variable is checked as it is.
 */
export interface Finding {
  level: 'error' | 'warning';
  message: string;
}

/** What the repository says about a deployment, read once. */
export interface DeploymentFacts {
  /** Root variables: name → its default (undefined when it has none, i.e. required). */
  variables: Record<string, { default?: unknown }>;
  /** Component keys of terraform/main.tf local.components (service account himas-<key>). */
  components: string[];
  /** Regions var.region's validation admits (those with Cloud Run L4 GPUs). */
  gpuRegions: string[];
  /** cloudbuild.yaml */
  build: {
    substitutions: Record<string, string>;
    /** `-var=name=value` arguments of the terraform-apply step. */
    applyVars: Record<string, string>;
    /** `--tag=` of the image build step, `push` argument, `images:` entries. */
    builtImage: string;
    pushedImage: string;
    listedImages: string[];
    target: string;
  };
  /** connector_params.timeout of the workflow's runHospitalJob. */
  workflowJobWaitSeconds: number;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Hcl = Record<string, any>;

/** HCL parsed by @cdktf/hcl2json (Terraform's own HCL library as WebAssembly; a dev dependency). */
export async function parseHcl(file: string, text: string): Promise<Hcl> {
  let parse: (name: string, text: string) => Promise<Hcl>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    parse = (require('@cdktf/hcl2json') as { parse: typeof parse }).parse;
  } catch {
    throw new Error(
      '`himas deploy check` reads HCL with @cdktf/hcl2json, a development dependency: run `npm ci` in the repository',
    );
  }
  return parse(file, text);
}

export async function loadDeploymentFacts(root: string): Promise<DeploymentFacts> {
  const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
  const variablesTf = await parseHcl('variables.tf', read('terraform/variables.tf'));
  const variables: DeploymentFacts['variables'] = {};
  for (const [name, [body]] of Object.entries(variablesTf.variable as Record<string, Hcl[]>))
    variables[name] = 'default' in body ? { default: body.default } : {};
  const regionCondition = String(
    (variablesTf.variable.region[0].validation as Hcl[] | undefined)?.[0]?.condition ?? '',
  );
  const gpuRegions = [...regionCondition.matchAll(/"([a-z]+-[a-z]+\d+)"/g)].map((m) => m[1]);
  const mainTf = await parseHcl('main.tf', read('terraform/main.tf'));
  const components = (mainTf.locals as Hcl[]).flatMap((l) => (l.components ? Object.keys(l.components) : []));

  const build = parseYaml(read('cloudbuild.yaml')) as {
    substitutions: Record<string, string>;
    steps: { id: string; args?: string[] }[];
    images?: string[];
  };
  const step = (id: string) => build.steps.find((s) => s.id === id)?.args ?? [];
  const applyVars: Record<string, string> = {};
  for (const a of step('terraform-apply')) {
    const m = /^-var=([a-z_]+)=(.*)$/.exec(a);
    if (m) applyVars[m[1]] = m[2];
  }
  const flag = (args: string[], name: string) =>
    args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? '';
  const workflow = parseYaml(read('workflows/federated-training.yaml')) as Hcl;
  return {
    variables,
    components,
    gpuRegions,
    build: {
      substitutions: build.substitutions,
      applyVars,
      builtImage: flag(step('build-train-image'), 'tag'),
      pushedImage: step('push-train-image')[1] ?? '',
      // The job's image entries; the console's image (terraform/console.tf) has its own name and check.
      listedImages: (build.images ?? []).filter((i) => !i.includes('/himas-console:')),
      target: flag(step('build-train-image'), 'target'),
    },
    workflowJobWaitSeconds: Number(
      workflow.runHospitalJob?.steps?.[0]?.run?.try?.args?.connector_params?.timeout ?? NaN,
    ),
  };
}

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const HOSPITAL_ID = /^[a-z][a-z0-9-]{0,16}[a-z0-9]$/;
const ACCOUNT_ID = /^[a-z](?:[-a-z0-9]{4,28})[a-z0-9]$/;
const VERSION = /^[1-9][0-9]*$/;

interface Hospital {
  display_name?: unknown;
  declared_train_stays?: unknown;
  signing_key_version?: unknown;
}

/**
 * Checks the variables a deployment will apply with (the var file, plus what cloudbuild.yaml passes
 * itself) against the facts. Errors are what Terraform, the provider or an API would refuse;
 * warnings are what applies but will not train.
 */
export function checkDeployment(facts: DeploymentFacts, file: Record<string, unknown>): Finding[] {
  const findings: Finding[] = [];
  const error = (message: string) => findings.push({ level: 'error', message });
  const warning = (message: string) => findings.push({ level: 'warning', message });
  const declared = Object.keys(facts.variables);

  for (const name of Object.keys(file))
    if (!(name in facts.variables))
      error(`variable ${name} is not declared in terraform/variables.tf${didYouMean(name, declared)}`);
  const fromBuild = new Set(Object.keys(facts.build.applyVars));
  for (const [name, v] of Object.entries(facts.variables))
    if (!('default' in v) && !(name in file) && !fromBuild.has(name))
      error(`variable ${name} is required (no default) and neither the var file nor cloudbuild.yaml sets it`);

  // What Terraform will use: the file, else the default; the build's own -var values win in a build.
  const value = (name: string): unknown => (name in file ? file[name] : facts.variables[name]?.default);
  const project = String(value('project_id') ?? '');
  if (!project)
    warning(
      'project_id is not in the var file: cloudbuild.yaml sets it to $PROJECT_ID, so names are not checked',
    );
  else if (!PROJECT_ID.test(project))
    error(`project_id '${project}' is not a project id: 6 to 30 of a-z, 0-9 and -, starting with a letter`);
  const region = String(value('region') ?? '');
  const variant = String(value('train_variant') ?? 'cpu');
  if (!['cpu', 'gpu'].includes(variant)) error(`train_variant '${variant}' must be cpu or gpu`);
  if (!facts.gpuRegions.includes(region))
    error(
      `region '${region}' has no Cloud Run jobs with NVIDIA L4 GPUs (var.region admits ${facts.gpuRegions.join(', ')}); https://cloud.google.com/run/docs/configuring/jobs/gpu`,
    );

  for (const component of facts.components) {
    const id = `himas-${component}`;
    if (!ACCOUNT_ID.test(id))
      error(
        `service account id ${id} (terraform/main.tf local.components) is ${id.length} characters; the provider accepts 6 to 30`,
      );
  }

  const hospitals = (value('hospitals') ?? {}) as Record<string, Hospital>;
  const enrolled: string[] = [];
  for (const [id, h] of Object.entries(hospitals)) {
    if (!HOSPITAL_ID.test(id)) {
      error(
        `hospital id '${id}' must match ${HOSPITAL_ID.source} (lower-case, digits, '-', at most 18 characters)`,
      );
      continue;
    }
    if (!ACCOUNT_ID.test(`himas-train-${id}`))
      error(`service account id himas-train-${id} is outside 6 to 30 characters`);
    if (typeof h.display_name !== 'string' || !h.display_name)
      error(`hospitals.${id}.display_name is required`);
    const stays = h.declared_train_stays;
    if (typeof stays !== 'number' || !Number.isInteger(stays) || stays < 1)
      error(
        `hospitals.${id}.declared_train_stays must be a whole number of stays, at least 1 (got ${JSON.stringify(stays)})`,
      );
    const version = h.signing_key_version;
    if (version === undefined || version === null) continue;
    if (typeof version !== 'string' || !VERSION.test(version))
      error(
        `hospitals.${id}.signing_key_version must be the version number \`gcloud secrets versions add himas-signing-key-${id}\` printed, e.g. "1" (got ${JSON.stringify(version)}; "latest" is not accepted)`,
      );
    else enrolled.push(id);
  }
  const waiting = Object.entries(hospitals)
    .filter(([id, h]) => HOSPITAL_ID.test(id) && (h.signing_key_version ?? null) === null)
    .map(([id]) => id);
  if (waiting.length > 0)
    warning(
      `no signing_key_version for ${waiting.join(', ')}: no job is created for ${waiting.length === 1 ? 'it' : 'them'} and the workflow leaves ${waiting.length === 1 ? 'it' : 'them'} out (docs/operations.md, step 10)`,
    );
  if (Object.keys(hospitals).length > 0 && enrolled.length === 0)
    warning('no hospital has an enrolled signing key yet: a run would have no hospital to train');

  // Bucket names fit by construction: a 30-character project id, "-himas-cohort-" and an
  // 18-character hospital id make 62 of Cloud Storage's 63.

  checkImages(facts, { project, region, variant, trainImage: file.train_image }, error);

  if (
    String(value('gemini_model') ?? '') !== '' &&
    !VERSION.test(String(value('gemini_api_key_version') ?? ''))
  )
    error(
      'gemini_model is set but gemini_api_key_version is not a version number: add the key with `gcloud secrets versions add himas-gemini-api-key --data-file=-` and set the version it printed',
    );
  if (String(value('vertex_model_id') ?? '') !== '' && String(value('vertex_serving_image') ?? '') === '')
    error(
      'vertex_model_id is set but vertex_serving_image is empty: the Vertex AI mirror needs a serving image',
    );
  const attempts = Number(value('max_delivery_attempts'));
  if (!(attempts >= 5 && attempts <= 100))
    error(`max_delivery_attempts ${attempts} is outside 5 to 100, what Pub/Sub dead-letter policies accept`);
  const worstCase = Number(value('job_task_timeout_seconds')) * (Number(value('job_max_retries')) + 1);
  if (!(worstCase <= facts.workflowJobWaitSeconds))
    error(
      `a job can run ${worstCase} s (job_task_timeout_seconds × (job_max_retries + 1)) but the workflow waits ${facts.workflowJobWaitSeconds} s for it (runHospitalJob connector_params.timeout)`,
    );
  return findings;
}

/** The image cloudbuild.yaml builds, pushes, lists and applies must be one name; a var-file image too. */
function checkImages(
  facts: DeploymentFacts,
  v: { project: string; region: string; variant: string; trainImage: unknown },
  error: (m: string) => void,
): void {
  const b = facts.build;
  const applied = b.applyVars.train_image ?? '';
  const names = {
    built: b.builtImage,
    pushed: b.pushedImage,
    applied,
    ...Object.fromEntries(b.listedImages.map((i, n) => [`images[${n}]`, i])),
  };
  if (new Set(Object.values(names)).size !== 1)
    error(
      `cloudbuild.yaml names the job image differently: ${Object.entries(names)
        .map(([k, n]) => `${k} ${n}`)
        .join('; ')}`,
    );
  if (b.applyVars.train_variant !== undefined && b.applyVars.train_variant !== b.target)
    error(
      `cloudbuild.yaml builds --target=${b.target} but applies train_variant=${b.applyVars.train_variant}`,
    );
  if (!/himas-train-\$\{_TRAIN_VARIANT\}/.test(applied))
    error(`cloudbuild.yaml's image ${applied} does not say its variant (himas-train-\${_TRAIN_VARIANT})`);
  if (typeof v.trainImage !== 'string' || !v.project) return;
  const expected = applied
    .replace('${_REGION}', v.region)
    .replace('$PROJECT_ID', v.project)
    .replace('${_REPOSITORY}', b.substitutions._REPOSITORY ?? 'himas')
    .replace('${_TRAIN_VARIANT}', v.variant);
  const [repository] = expected.split(':');
  if (!v.trainImage.startsWith(`${repository}:`))
    error(
      `train_image ${v.trainImage} is not the image cloudbuild.yaml builds for this deployment (${repository}:<tag>, train_variant ${v.variant})`,
    );
}

export function describeFindings(file: string, findings: Finding[]): string {
  const errors = findings.filter((f) => f.level === 'error');
  const lines = [`himas deploy check: ${file}`];
  for (const f of findings) lines.push(`  ${f.level}: ${f.message}`);
  lines.push(
    errors.length === 0
      ? `ok: nothing the provider or the APIs would reject${findings.length ? ` (${findings.length} warning${findings.length === 1 ? '' : 's'})` : ''}`
      : `${errors.length} error${errors.length === 1 ? '' : 's'}: fix them before terraform apply`,
  );
  return lines.join('\n');
}
