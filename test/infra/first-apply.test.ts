import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { WORKFLOW_FILE } from './contract';
import {
  instances,
  loadTerraform,
  REPO_ROOT,
  resolve,
  rootScope,
  type Body,
  type TfConfig,
} from './terraform-model';

/**
 * What stops the first `terraform apply` or the first `gcloud workflows run` on an empty project
 * (issue 15), read from the provider's validation and the services' documented behaviour, each as
 * a static check of the files: nobody here can reach Google Cloud, so these are what would have
 * caught each finding. The message of every check names the finding.
 */
const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const workflow = () => parseYaml(readFileSync(WORKFLOW_FILE, 'utf8')) as Record<string, Body>;

/** Every value under `node` for which `match` holds, with the path of keys that leads to it. */
function findAll(
  node: unknown,
  match: (v: Body) => boolean,
  trail: string[] = [],
): { at: string[]; v: Body }[] {
  if (!node || typeof node !== 'object') return [];
  const here = !Array.isArray(node) && match(node as Body) ? [{ at: trail, v: node as Body }] : [];
  return [...here, ...Object.entries(node as Body).flatMap(([k, v]) => findAll(v, match, [...trail, k]))];
}

const hospitalModule = (c: TfConfig) => c.modules['modules/hospital'];
const job = (c: TfConfig) => hospitalModule(c).resources.google_cloud_run_v2_job.train;
const jobTemplate = (c: TfConfig) => job(c).template[0].template[0];

describe('the first terraform apply on an empty project', () => {
  let config: TfConfig;
  beforeAll(async () => {
    config = await loadTerraform();
  });

  test('blocker 1: every service account id is 6 to 30 characters of RFC 1035 (ValidateRFC1035Name(6, 30))', () => {
    const root = rootScope(config);
    // Every service account of the root module (the components, and any added beside them).
    const ids = Object.values(config.root.resources.google_service_account ?? {}).flatMap((body) =>
      instances(body, root).map((i) => String(resolve(i.body.account_id, i.scope))),
    );
    // The hospital's account, with the longest hospital id var.hospitals admits (18 characters).
    const longestHospital = 'h'.repeat(18);
    ids.push(
      String(hospitalModule(config).resources.google_service_account.job.account_id).replace(
        '${var.hospital_id}',
        longestHospital,
      ),
    );
    const bad = ids.filter((id) => !/^[a-z](?:[-a-z0-9]{4,28})[a-z0-9]$/.test(id));
    expect(bad).toEqual([]);
    expect(ids).toContain('himas-clinical-support');
  });

  test('blocker 2: the function build may read the source Cloud Functions copies to gcf-v2-sources-<number>-<region>, and the build waits for IAM', () => {
    const binding = config.root.resources.google_project_iam_member.function_build_reads_sources;
    expect(binding).toBeDefined();
    expect(binding.member).toContain('"function-build"');
    expect(binding.role).toBe('roles/storage.objectAdmin');
    expect(config.root.locals.function_sources_bucket).toBe(
      'gcf-v2-sources-${data.google_project.this.number}-${var.region}',
    );
    expect(binding.condition[0].expression).toContain('projects/_/buckets/${local.function_sources_bucket}');
    const wait = config.root.resources.time_sleep.function_build_iam;
    expect(wait.depends_on).toEqual(
      expect.arrayContaining(['${google_project_iam_member.function_build_reads_sources}']),
    );
    expect(config.root.resources.google_cloudfunctions2_function.functions.depends_on).toContain(
      '${time_sleep.function_build_iam}',
    );
  });

  test('blocker 3: a job mounts a pinned signing-key version that exists, after its accessor binding', () => {
    const keys = (jobTemplate(config).volumes as Body[]).find((v) => v.name === 'keys')!;
    const item = keys.secret[0].items[0];
    expect(item.version).not.toBe('latest');
    expect(item.version).toBe('${var.signing_key_version}');
    // No version yet (the hospital has not enrolled its key): no job, rather than a failed apply.
    expect(job(config).count).toBe('${local.enrolled ? 1 : 0}');
    expect(hospitalModule(config).locals.enrolled).toBe('${var.signing_key_version != null}');
    expect(job(config).depends_on).toContain(
      '${google_secret_manager_secret_iam_member.job_reads_signing_key}',
    );
    // And the workflow only runs hospitals that have a job.
    expect((config.root.locals.workflow_env as Body).HIMAS_HOSPITALS).toContain(
      'signing_key_version != null',
    );
  });

  test('blocker 4: alert policies wait until the log-based metrics reach Cloud Monitoring (up to 10 minutes)', () => {
    const alerts = config.root.resources.google_monitoring_alert_policy.alerts;
    expect(alerts.depends_on).toEqual(['${time_sleep.metrics_reach_monitoring}']);
    const wait = config.root.resources.time_sleep.metrics_reach_monitoring;
    expect(Number(/^(\d+)s$/.exec(wait.create_duration)?.[1])).toBeGreaterThanOrEqual(600);
    expect(wait.depends_on).toEqual([
      '${google_logging_metric.counters}',
      '${google_logging_metric.distributions}',
    ]);
  });

  test('blocker 6: a hospital may stat and put its own releases, and a failed statistics job does not fail the execution', () => {
    const own = String(
      hospitalModule(config).resources.google_storage_bucket_iam_member.own_updates.condition[0].expression,
    );
    expect(own).toContain('resource.name.extract("/releases/{hospital}/") == "${var.hospital_id}"');
    const calls = findAll(workflow(), (v) => v.call === 'runHospitalJob');
    expect(calls.length).toBe(4); // stats, train, reveal, evaluate
    for (const { at } of calls) expect(at.at(-1)).toBe('try');
  });

  test('blocker 7: every OIDC call to the coordinator names the service root URL as audience', () => {
    const calls = findAll(workflow(), (v) => v.auth?.type === 'OIDC');
    expect(calls.length).toBeGreaterThan(0);
    for (const { v } of calls) expect(v.auth.audience).toBe('${sys.get_env("HIMAS_COORDINATOR_URL")}');
    // ... and that variable is the run.app root URL, not the cloudfunctions.net URL with a path.
    expect((config.root.locals.workflow_env as Body).HIMAS_COORDINATOR_URL).toBe(
      '${google_cloudfunctions2_function.functions["himas-coordinator"].service_config[0].uri}',
    );
  });
});

describe('majors', () => {
  let config: TfConfig;
  beforeAll(async () => {
    config = await loadTerraform();
  });
  const dockerfile = () => read('jobs/train/Dockerfile');
  const stages = () =>
    [...dockerfile().matchAll(/^FROM (\S+) AS (\S+)$/gm)].map((m) => ({ from: m[1], name: m[2] }));

  test('GPU image: CPU tfjs-node is the default target, the GPU target is opt-in, pinned by digest, with a persisted CUDA cache', () => {
    expect(stages().at(-1)).toEqual({ from: '${NODE_IMAGE}', name: 'cpu' });
    expect(dockerfile()).toMatch(/npm install [^\n]*@tensorflow\/tfjs-node@\$\{TFJS_VERSION\}/);
    const pkg = JSON.parse(read('package.json')) as Record<string, Record<string, string>>;
    expect(/^ARG TFJS_VERSION=(\S+)$/m.exec(dockerfile())?.[1]).toBe(
      pkg.dependencies['@tensorflow/tfjs'].replace(/^\^/, ''),
    );
    // The GPU base is refused unless pinned by digest: NVIDIA deletes tags of CUDA releases past end of life.
    expect(stages().find((s) => s.name === 'gpu-base')?.from).toBe('${CUDA_IMAGE}');
    expect(dockerfile()).toMatch(/case "\$\{CUDA_IMAGE\}" in \*@sha256:\*\) ;;/);
    // The CUDA JIT cache lives on the job's cuda-cache volume, at the path the image names.
    const cachePath = /CUDA_CACHE_PATH=(\S+)/.exec(dockerfile())?.[1];
    expect(cachePath).toBe(hospitalModule(config).locals.cuda_cache_mount);
    expect(dockerfile()).toMatch(/CUDA_CACHE_MAXSIZE=4294967296/);
    const mounts = jobTemplate(config).containers[0].dynamic.volume_mounts[0];
    expect(mounts.for_each).toBe('${var.gpu ? ["cuda-cache"] : []}');
    expect(mounts.content[0].mount_path).toBe('${local.cuda_cache_mount}');
    // BuildKit builds only the target's stages, so a CPU build never pulls the CUDA base.
    const buildStep = (parseYaml(read('cloudbuild.yaml')) as Body).steps.find(
      (s: Body) => s.id === 'build-train-image',
    );
    expect(buildStep.env).toContain('DOCKER_BUILDKIT=1');
    expect(buildStep.args).toContain('--target=${_TRAIN_VARIANT}');
    // Default deployment is the CPU variant, in Terraform and in Cloud Build alike.
    expect(config.root.variables.train_variant.default).toBe('cpu');
    expect((parseYaml(read('cloudbuild.yaml')) as Body).substitutions._TRAIN_VARIANT).toBe('cpu');
  });

  test('function builds never install tfjs-node-gpu: no native TensorFlow binding in package.json', () => {
    const pkg = JSON.parse(read('package.json')) as Record<string, Record<string, string> | undefined>;
    for (const field of ['dependencies', 'optionalDependencies', 'devDependencies'])
      expect(Object.keys(pkg[field] ?? {}).filter((d) => /tfjs-node/.test(d))).toEqual([]);
  });

  test('the privacy guardian reads the published ledgers by name, under the prefix its IAM condition scopes', () => {
    const guardian = config.root.resources.google_storage_bucket_iam_member.guardian_reads_ledgers;
    expect(guardian.role).toBe('roles/storage.objectViewer');
    expect(guardian.condition[0].expression).toContain('/objects/ledgers/');
    // Listing is checked at bucket level, where an object-name condition never matches: no list.
    const reader = read('src/services/published-ledgers.ts');
    expect(reader).toContain('.read(hospitalId)');
    const store = read('src/adapters/ledger/blob-hospital-ledger-store.ts');
    const readMethod = store.slice(
      store.indexOf('async read('),
      store.indexOf('private async getOrUndefined'),
    );
    expect(readMethod).not.toMatch(/\.list\(/);
  });

  test('Gemini: the key is mounted only into the two functions that read it, at a pinned version', () => {
    const fn = config.root.resources.google_cloudfunctions2_function.functions;
    const secretEnv = fn.service_config[0].dynamic.secret_environment_variables[0];
    expect(secretEnv.for_each).toBe(
      '${contains(local.gemini_functions, each.key) ? [var.gemini_api_key_secret] : []}',
    );
    expect(secretEnv.content[0].version).toBe('${var.gemini_api_key_version}');
    expect(config.root.locals.gemini_readers).toBe('${toset(["orchestrator", "clinical-support"])}');
    expect(String(config.root.locals.gemini_functions)).toContain(
      'contains(local.gemini_readers, f.service_account)',
    );
    const precondition =
      config.root.resources.google_secret_manager_secret.gemini_api_key.lifecycle[0].precondition[0];
    expect(precondition.condition).toContain('var.gemini_api_key_version');
  });

  test('the jobs.run connector outlasts the job worst case (task timeout × (retries + 1))', () => {
    const run = workflow().runHospitalJob.steps[0].run.try;
    const timeout = Number(run.args.connector_params.timeout);
    const taskTimeout = Number(config.root.variables.job_task_timeout_seconds.default);
    const attempts = Number(config.root.variables.job_max_retries.default) + 1;
    expect(timeout).toBeGreaterThanOrEqual(taskTimeout * attempts);
    // ... and Terraform refuses job settings the workflow's timeout cannot outlast.
    const wf = config.root.resources.google_workflows_workflow.training;
    expect(wf.lifecycle[0].precondition[0].condition).toBe(
      '${local.workflow_job_wait_seconds >= var.job_task_timeout_seconds * (var.job_max_retries + 1)}',
    );
  });

  test('one cohort path, labelled truthfully: jobs read CSVs from their mounted bucket and runs say csv', () => {
    const env = config.root.locals.workflow_env as Body;
    expect(env.HIMAS_DATA_KIND).toBe('csv');
    expect(env.HIMAS_DATA_LOCATION).toBe('gs://${var.project_id}-himas-cohort-<hospital>/');
    expect((hospitalModule(config).locals.job_env as Body).HIMAS_DATA_DIR).toBe('${local.cohort_mount}');
    const cohort = (jobTemplate(config).volumes as Body[]).find((v) => v.name === 'cohort')!;
    expect(cohort.gcs[0].bucket).toBe('${google_storage_bucket.cohort_files.name}');
    expect(read('workflows/federated-training.yaml')).toContain(
      'kind: ${default(sys.get_env("HIMAS_DATA_KIND"), "csv")}',
    );
  });
});

describe('minors', () => {
  let config: TfConfig;
  beforeAll(async () => {
    config = await loadTerraform();
  });

  test('the google provider is pinned to >= 7.4 (gcs volume mount_options)', () => {
    expect(read('terraform/versions.tf')).toMatch(/version\s*=\s*">= 7\.4, < 8\.0"/);
  });

  test('the APIs Terraform needs include Cloud Resource Manager and Vertex AI', () => {
    const apis = String(config.root.locals.apis);
    expect(apis).toContain('"cloudresourcemanager.googleapis.com"');
    expect(apis).toContain('"aiplatform.googleapis.com"');
  });

  test('the Artifact Registry cleanup policy deletes something (a KEEP policy alone deletes nothing)', () => {
    const policies = config.root.resources.google_artifact_registry_repository.images
      .cleanup_policies as Body[];
    expect(policies.map((p) => p.action).sort()).toEqual(['DELETE', 'KEEP']);
  });

  test('no unused Firestore index; no launch_stage that diffs forever; the narrowest job-run role', () => {
    expect(config.root.resources.google_firestore_index).toBeUndefined();
    expect(job(config).launch_stage).toBeUndefined();
    expect(hospitalModule(config).resources.google_cloud_run_v2_job_iam_member.workflow_runs_job.role).toBe(
      'roles/run.jobsExecutorWithOverrides',
    );
  });

  test('the mounted signing key is readable by the image user (uid 10001, not root)', () => {
    const keys = (jobTemplate(config).volumes as Body[]).find((v) => v.name === 'keys')!;
    for (const mode of [keys.secret[0].default_mode, keys.secret[0].items[0].mode])
      expect(Number(mode) & 0o004).toBe(0o004);
  });

  test('the build upload leaves out terraform/.terraform and local state', () => {
    const ignore = read('.gcloudignore');
    expect(ignore).toMatch(/^terraform\/\.terraform\/$/m);
    expect(ignore).toMatch(/^terraform\/\*\.tfstate$/m);
    // ... and the private signing keys and cohort files docs/operations.md has the operator make.
    for (const line of ['*.signing.json', 'keys/', 'data/']) expect(ignore.split('\n')).toContain(line);
  });
});
