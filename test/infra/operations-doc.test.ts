import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { parse as parseYaml } from 'yaml';
import { checkDeployment, loadDeploymentFacts } from '../../src/cli/deploy-check';
import { loadTerraform, REPO_ROOT, type Body, type TfConfig } from './terraform-model';

/**
 * docs/operations.md is one linear path from an empty project to a served prediction: its bash
 * blocks, read in order, name only resources, variables, images, secrets and substitutions that
 * exist in terraform/ and cloudbuild.yaml, and come in an order that can work (the deployer's roles
 * before the first build, keys before the jobs that mount them, training before serving).
 */
const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const doc = read('docs/operations.md');
/** The bash blocks, in order, with their line continuations joined. */
const blocks = [...doc.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1].replace(/\\\n\s*/g, ''));
const commands = blocks.flatMap((b) => b.split('\n')).filter((l) => l.trim() && !l.trim().startsWith('#'));
const all = blocks.join('\n');
const firstIndex = (re: RegExp) => commands.findIndex((c) => re.test(c));
const build = parseYaml(read('cloudbuild.yaml')) as {
  substitutions: Record<string, string>;
  images: string[];
};

/**
 * The role the deployer needs for each resource type Terraform manages
 * (https://cloud.google.com/iam/docs/understanding-roles). A type missing here fails the test:
 * add the role it needs, and grant it in docs/operations.md step 4.
 */
const ROLE_FOR_TYPE: Record<string, string | null> = {
  google_project_service: 'roles/serviceusage.serviceUsageAdmin',
  google_service_account: 'roles/iam.serviceAccountAdmin',
  google_service_account_iam_member: 'roles/iam.serviceAccountAdmin',
  google_project_iam_member: 'roles/resourcemanager.projectIamAdmin',
  google_pubsub_topic: 'roles/pubsub.admin',
  google_pubsub_topic_iam_member: 'roles/pubsub.admin',
  google_pubsub_subscription: 'roles/pubsub.admin',
  google_pubsub_subscription_iam_member: 'roles/pubsub.admin',
  google_storage_bucket: 'roles/storage.admin',
  google_storage_bucket_iam_member: 'roles/storage.admin',
  google_storage_bucket_object: 'roles/storage.admin',
  google_artifact_registry_repository: 'roles/artifactregistry.admin',
  google_firestore_database: 'roles/datastore.owner',
  google_firestore_index: 'roles/datastore.owner',
  google_cloudfunctions2_function: 'roles/cloudfunctions.admin',
  google_cloud_run_v2_service: 'roles/run.admin',
  google_cloud_run_v2_service_iam_member: 'roles/run.admin',
  google_cloud_run_v2_job: 'roles/run.admin',
  google_cloud_run_v2_job_iam_member: 'roles/run.admin',
  google_workflows_workflow: 'roles/workflows.admin',
  google_bigquery_dataset: 'roles/bigquery.admin',
  google_bigquery_dataset_iam_member: 'roles/bigquery.admin',
  google_bigquery_table: 'roles/bigquery.admin',
  google_bigquery_table_iam_member: 'roles/bigquery.admin',
  google_secret_manager_secret: 'roles/secretmanager.admin',
  google_secret_manager_secret_iam_member: 'roles/secretmanager.admin',
  google_logging_project_sink: 'roles/logging.configWriter',
  google_logging_metric: 'roles/logging.configWriter',
  google_monitoring_dashboard: 'roles/monitoring.editor',
  google_monitoring_alert_policy: 'roles/monitoring.editor',
  time_sleep: null,
};

describe('docs/operations.md: one path from an empty project to a served prediction', () => {
  let config: TfConfig;
  beforeAll(async () => {
    config = await loadTerraform();
  });
  const modules = () => [config.root, ...Object.values(config.modules)];

  test('has the steps, each a bash block, in an order that can work', () => {
    const order = [
      /gcloud services enable /,
      /gcloud storage buckets create gs:\/\/\$PROJECT-himas-tfstate/,
      /gcloud iam service-accounts create himas-deployer/,
      /gcloud projects add-iam-policy-binding \$PROJECT --member=serviceAccount:\$DEPLOYER/,
      /cat > terraform\/terraform.tfvars <<EOF/,
      /npx himas deploy check --var-file terraform\/terraform.tfvars/,
      /terraform -chdir=terraform init /,
      /terraform -chdir=terraform apply -target=/,
      /gcloud builds submit /,
      /gcloud storage cp data\/\$h.train.csv data\/\$h.test.csv gs:\/\/\$PROJECT-himas-cohort-\$h\//,
      /npx himas deploy signing-key --hospital \$h/,
      /gcloud secrets versions add himas-signing-key-\$h/,
      /signing_key_version = "1"/,
      /npx himas train --stack gcp --project \$PROJECT --region \$REGION/,
      /\/predict/,
    ];
    const at = order.map((re) => firstIndex(re));
    expect(order.filter((_, i) => at[i] < 0).map(String)).toEqual([]);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    // The jobs (step 10) are created by a build after the keys exist, and training comes after it.
    const builds = commands.map((c, i) => (/gcloud builds submit/.test(c) ? i : -1)).filter((i) => i >= 0);
    expect(
      builds.some(
        (i) => i > firstIndex(/signing_key_version = "1"/) && i < firstIndex(/himas train --stack gcp/),
      ),
    ).toBe(true);
  });

  test('blocker 5: the build runs as a named deployer holding every role Terraform needs, granted before the first build', () => {
    const submits = commands.filter((c) => /gcloud builds submit/.test(c));
    expect(submits.length).toBeGreaterThan(0);
    for (const s of submits)
      expect(s).toContain('--service-account=projects/$PROJECT/serviceAccounts/$DEPLOYER');
    expect(all).toContain('DEPLOYER=himas-deployer@$PROJECT.iam.gserviceaccount.com');
    const loop = /for role in ([^;]+); do/.exec(all)?.[1] ?? '';
    const granted = new Set(loop.trim().split(/\s+/));
    expect(firstIndex(/for role in /)).toBeLessThan(firstIndex(/gcloud builds submit/));
    const needed = new Set(['roles/logging.logWriter', 'roles/iam.serviceAccountUser']);
    const unknown: string[] = [];
    for (const mod of modules())
      for (const type of Object.keys(mod.resources)) {
        if (!(type in ROLE_FOR_TYPE)) unknown.push(type);
        else if (ROLE_FOR_TYPE[type]) needed.add(ROLE_FOR_TYPE[type]!);
      }
    expect(unknown).toEqual([]);
    expect([...needed].filter((r) => !granted.has(r))).toEqual([]);
    expect(granted).toContain('roles/secretmanager.admin');
  });

  test('enables the APIs Terraform needs before it can enable the rest', () => {
    const enabled = /gcloud services enable ([^\n]+)/.exec(all)![1].split(/\s+/);
    for (const api of [
      'serviceusage.googleapis.com',
      'cloudresourcemanager.googleapis.com',
      'iam.googleapis.com',
      'storage.googleapis.com',
      'cloudbuild.googleapis.com',
      'artifactregistry.googleapis.com',
    ])
      expect(enabled).toContain(api);
  });

  test('every variable it sets is declared, with the attributes the hospitals variable has', async () => {
    const heredoc = /cat > terraform\/terraform.tfvars <<EOF\n([\s\S]*?)\nEOF/.exec(all)![1];
    const appended = [...all.matchAll(/echo "([a-z_]+) = /g), ...all.matchAll(/\\n?([a-z_]+) = "/g)].map(
      (m) => m[1],
    );
    const tfvars = (await parseHcl(
      't.tfvars',
      heredoc.replace(/\$PROJECT/g, 'p-123456').replace(/\$REGION/g, 'europe-west4'),
    )) as Body;
    const names = [...Object.keys(tfvars), ...appended.filter((n) => !n.startsWith('signing'))];
    expect(names.filter((n) => !(n in config.root.variables))).toEqual([]);
    const type = String(config.root.variables.hospitals.type);
    for (const h of Object.values(tfvars.hospitals as Record<string, Body>))
      for (const attr of Object.keys(h)) expect(type).toContain(`${attr} `);
    expect(type).toContain('signing_key_version');
    // The image it names is the one cloudbuild.yaml builds for the default variant.
    const image = String(tfvars.train_image).replace(/:v1$/, '');
    expect(image).toBe(
      build.images[0]
        .split(':')[0]
        .replace('${_REGION}', 'europe-west4')
        .replace('$PROJECT_ID', 'p-123456')
        .replace('${_REPOSITORY}', build.substitutions._REPOSITORY)
        .replace('${_TRAIN_VARIANT}', build.substitutions._TRAIN_VARIANT),
    );
  });

  test('its variables pass `himas deploy check`: with warnings before the keys are enrolled, clean after', async () => {
    const heredoc = /cat > terraform\/terraform.tfvars <<EOF\n([\s\S]*?)\nEOF/
      .exec(all)![1]
      .replace(/\$PROJECT/g, 'p-123456')
      .replace(/\$REGION/g, 'europe-west4');
    const facts = await loadDeploymentFacts(REPO_ROOT);
    const before = checkDeployment(facts, (await parseHcl('a.tfvars', heredoc)) as Body);
    expect(before.filter((f) => f.level === 'error')).toEqual([]);
    expect(before.map((f) => f.message).join('\n')).toMatch(
      /no signing_key_version for h1-academic, h2-cardiac, h3-community/,
    );
    // Step 10's sed, as the page runs it.
    const sed = /sed -i 's\/(.*?)\/(.*?)\/' terraform\/terraform.tfvars/.exec(all)!;
    const pattern = new RegExp(
      sed[1].replace(/\\\(/g, '(').replace(/\\\)/g, ')').replace('[0-9]*', '[0-9]*'),
      'g',
    );
    const enrolled = heredoc.replace(pattern, sed[2].replace('\\1', '$1'));
    expect(enrolled).toContain('signing_key_version = "1" }');
    expect(checkDeployment(facts, (await parseHcl('b.tfvars', enrolled)) as Body)).toEqual([]);
  });

  test('every resource, secret, bucket, substitution, function, workflow and CLI command it names exists', () => {
    const hospital = config.modules['modules/hospital'];
    // terraform apply -target=ADDRESS
    for (const m of all.matchAll(/-target=([a-z0-9_]+)\.([a-z0-9_]+)/g))
      expect(config.root.resources[m[1]]?.[m[2]]).toBeDefined();
    // Secrets
    expect(hospital.resources.google_secret_manager_secret.signing_key.secret_id).toBe(
      'himas-signing-key-${var.hospital_id}',
    );
    for (const m of all.matchAll(/gcloud secrets versions add ([a-z0-9$-]+)/g)) {
      const name = m[1];
      if (name.startsWith('himas-signing-key-')) continue;
      expect(name).toBe(config.root.variables.gemini_api_key_secret.default);
    }
    // Buckets: the state bucket is made by hand; every other gs:// is a Terraform bucket.
    const bucketNames = [
      String(config.root.resources.google_storage_bucket.artifacts.name),
      String(hospital.resources.google_storage_bucket.cohort_files.name),
    ].map((n) => n.replace('${var.project_id}', '$PROJECT').replace('${var.hospital_id}', '$h'));
    for (const m of all.matchAll(/gs:\/\/(\$PROJECT-himas-[a-z$-]+)/g))
      if (m[1] !== '$PROJECT-himas-tfstate') expect(bucketNames).toContain(m[1]);
    // Substitutions
    for (const m of all.matchAll(/--substitutions=(\S+)/g))
      for (const pair of m[1].split(','))
        expect([...Object.keys(build.substitutions), 'SHORT_SHA']).toContain(pair.split('=')[0]);
    // Functions and the workflow
    const functions = Object.keys(config.root.locals.functions as Body);
    for (const m of all.matchAll(/gcloud functions describe ([a-z-]+)/g)) expect(functions).toContain(m[1]);
    expect(config.root.resources.google_workflows_workflow.training.name).toBe('himas-training');
    for (const m of doc.matchAll(/gcloud workflows run ([a-z-]+)/g)) expect(m[1]).toBe('himas-training');
    // CLI commands
    const cli = read('src/cli/main.ts');
    const known = [.../const COMMANDS[^{]*\{([^}]*)\}/.exec(cli)![1].matchAll(/^\s*([a-z]+):/gm)].map(
      (m) => m[1],
    );
    for (const m of all.matchAll(/npx himas ([a-z]+)/g)) expect(known).toContain(m[1]);
    for (const m of all.matchAll(/npx himas deploy ([a-z-]+)/g))
      expect(['check', 'signing-key']).toContain(m[1]);
  });

  test('its table of what terraform apply creates names every function and agent subscription (stale docs)', () => {
    const table = doc.slice(
      doc.indexOf('## What `terraform apply` creates'),
      doc.indexOf('## Where to look'),
    );
    const names = [
      ...Object.keys(config.root.locals.functions as Body),
      ...Object.keys(config.root.locals.agent_subscriptions as Body),
      ...Object.keys(config.root.locals.aggregator_subscriptions as Body),
    ];
    expect(names.filter((n) => !table.includes(`\`${n}\``))).toEqual([]);
    expect(table).toMatch(/functions \(gen2, nodejs22, 7\)/);
  });

  test.each(['docs/operations.md', 'jobs/train/README.md'])(
    '%s no longer says the Google Cloud adapters are missing or names HIMAS_COHORT_TABLE',
    (file) => {
      const text = read(file);
      expect(text).not.toMatch(/HIMAS_COHORT_TABLE/);
      expect(text).not.toMatch(
        /adapters are not (part of this build|wired)|until the Google Cloud adapters land|refuses `HIMAS_STACK=gcp`/i,
      );
    },
  );
});
