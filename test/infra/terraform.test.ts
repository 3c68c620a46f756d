import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  expressions,
  loadTerraform,
  REPO_ROOT,
  type Body,
  type TfConfig,
  type TfModule,
} from './terraform-model';
import { blobPaths } from '../../schemas/documents';

/**
 * Static validation of terraform/ without a cloud account: every file parses with a real HCL
 * parser, every reference resolves, the resources carry their required arguments, and the
 * configuration holds no project ids, primitive roles, keys or public members.
 */

/**
 * Required arguments (dotted paths go through nested blocks) of the resources used, from the google
 * provider docs (https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/<type>).
 * A resource type missing here fails the test: add its required arguments when you use it.
 */
const REQUIRED: Record<string, string[]> = {
  google_project_service: ['service'],
  google_service_account: ['account_id'],
  google_project_iam_member: ['project', 'role', 'member'],
  google_service_account_iam_member: ['service_account_id', 'role', 'member'],
  google_pubsub_topic: ['name'],
  google_pubsub_topic_iam_member: ['topic', 'role', 'member'],
  google_pubsub_subscription: ['name', 'topic'],
  google_pubsub_subscription_iam_member: ['subscription', 'role', 'member'],
  google_storage_bucket: ['name', 'location'],
  google_storage_bucket_iam_member: ['bucket', 'role', 'member'],
  google_storage_bucket_object: ['name', 'bucket'],
  google_artifact_registry_repository: ['repository_id', 'format'],
  google_firestore_database: ['name', 'location_id', 'type'],
  google_firestore_index: ['collection', 'fields.field_path'],
  google_cloudfunctions2_function: ['name', 'location'],
  google_cloud_run_v2_service: ['name', 'location', 'template.containers.image'],
  google_cloud_run_v2_service_iam_member: ['name', 'role', 'member'],
  google_cloud_run_v2_job: ['name', 'location', 'template.template.containers.image'],
  google_cloud_run_v2_job_iam_member: ['name', 'role', 'member'],
  google_workflows_workflow: [],
  google_bigquery_dataset: ['dataset_id'],
  google_bigquery_dataset_iam_member: ['dataset_id', 'role', 'member'],
  google_bigquery_table: ['dataset_id', 'table_id'],
  google_bigquery_table_iam_member: ['dataset_id', 'table_id', 'role', 'member'],
  google_secret_manager_secret: ['secret_id', 'replication'],
  google_secret_manager_secret_iam_member: ['secret_id', 'role', 'member'],
  google_logging_project_sink: ['name', 'destination'],
  google_logging_metric: ['name', 'filter', 'metric_descriptor.metric_kind', 'metric_descriptor.value_type'],
  google_monitoring_dashboard: ['dashboard_json'],
  google_monitoring_alert_policy: ['display_name', 'combiner', 'conditions.display_name'],
  // hashicorp/time (https://registry.terraform.io/providers/hashicorp/time/latest/docs/resources/sleep): no required argument.
  time_sleep: [],
};
const REQUIRED_DATA: Record<string, string[]> = {
  google_project: [],
  archive_file: ['type', 'output_path'],
};

/** What HIMAS itself requires of a resource beyond the provider (the operational rules). */
const POLICY: Record<string, string[]> = {
  google_workflows_workflow: ['name', 'region', 'service_account', 'source_contents', 'user_env_vars'],
  google_cloudfunctions2_function: [
    'build_config.runtime',
    'build_config.entry_point',
    'service_config.service_account_email',
    'service_config.min_instance_count',
    'service_config.max_instance_count',
  ],
  google_cloud_run_v2_job: [
    'template.template.service_account',
    'template.template.timeout',
    'template.template.max_retries',
    'template.template.gpu_zonal_redundancy_disabled',
    'template.template.node_selector.accelerator',
  ],
  google_cloud_run_v2_service: ['template.service_account', 'deletion_protection'],
  google_pubsub_subscription: ['message_retention_duration'],
  google_storage_bucket: ['uniform_bucket_level_access'],
};

function has(body: Body, dotted: string): boolean {
  const [head, ...rest] = dotted.split('.');
  const direct = body[head];
  const dynamic = body.dynamic?.[head]?.[0]?.content;
  const value = direct ?? dynamic;
  if (value === undefined) return false;
  if (rest.length === 0) return true;
  const blocks = Array.isArray(value) ? value : [value];
  return blocks.length > 0 && blocks.every((b: Body) => has(b, rest.join('.')));
}

function allModules(config: TfConfig): TfModule[] {
  return [config.root, ...Object.values(config.modules)];
}

const label = (m: TfModule) => (m.dir === '' ? 'terraform/' : `terraform/${m.dir}/`);

/** Every reference in a module that does not resolve to something declared. */
export function brokenReferences(config: TfConfig, mod: TfModule): string[] {
  const problems: string[] = [];
  const where = label(mod);
  const REF =
    /(?<![\w.])(var|local|module|data|google_[a-z0-9_]+)\.([A-Za-z_][\w-]*)(\[[^\]]*\])?(?:\.([A-Za-z_][\w-]*))?/g;
  const all = [mod.resources, mod.data, mod.variables, mod.locals, mod.outputs, mod.moduleCalls, mod.other];
  const usedVars = new Set<string>();
  for (const expr of expressions(all)) {
    // Strip string literals inside the expression so that text like "bigquery.googleapis.com" is not read as a reference.
    const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    for (const m of code.matchAll(REF)) {
      const [ref, kind, a, indexed, b] = m;
      if (kind === 'var') {
        usedVars.add(a);
        if (!(a in mod.variables)) problems.push(`${where}: ${ref}: variable ${a} is not declared`);
      } else if (kind === 'local') {
        if (!(a in mod.locals)) problems.push(`${where}: ${ref}: local ${a} is not defined`);
        else {
          const local = mod.locals[a];
          if (
            b &&
            !indexed &&
            local &&
            typeof local === 'object' &&
            !Array.isArray(local) &&
            !(b in (local as Body))
          )
            problems.push(`${where}: ${ref}: local ${a} has no key ${b}`);
        }
      } else if (kind === 'module') {
        const call = mod.moduleCalls[a];
        if (!call) problems.push(`${where}: ${ref}: module ${a} is not declared`);
        else {
          const child = config.modules[path.posix.normalize(String(call.source).replace(/^\.\//, ''))];
          if (!child) problems.push(`${where}: module ${a}: source ${String(call.source)} not found`);
          else if (b && !(b in child.outputs))
            problems.push(`${where}: ${ref}: module ${a} has no output ${b}`);
        }
      } else if (kind === 'data') {
        if (!mod.data[a]?.[b ?? '']) problems.push(`${where}: ${ref}: data source ${a}.${b} is not declared`);
      } else if (!mod.resources[kind]?.[a]) {
        problems.push(`${where}: ${ref}: resource ${kind}.${a} is not declared`);
      }
    }
  }
  // Module calls: every argument is a declared variable; every variable without default is passed.
  for (const [name, call] of Object.entries(mod.moduleCalls)) {
    const child = config.modules[path.posix.normalize(String(call.source).replace(/^\.\//, ''))];
    if (!child) continue;
    const meta = new Set(['source', 'for_each', 'count', 'depends_on', 'providers', 'version']);
    for (const arg of Object.keys(call))
      if (!meta.has(arg) && !(arg in child.variables))
        problems.push(`${where}: module ${name} passes ${arg}, which ${label(child)} does not declare`);
    for (const [v, body] of Object.entries(child.variables))
      if (!('default' in body) && !(v in call))
        problems.push(`${where}: module ${name} does not pass required variable ${v}`);
  }
  for (const v of Object.keys(mod.variables))
    if (!usedVars.has(v)) problems.push(`${where}: variable ${v} is declared but never used`);
  return problems;
}

describe('terraform/', () => {
  let config: TfConfig;
  beforeAll(async () => {
    config = await loadTerraform();
  });

  it('parses with a real HCL parser, root module and modules/hospital', () => {
    expect(Object.keys(config.root.files).sort()).toEqual(
      expect.arrayContaining(['main.tf', 'outputs.tf', 'variables.tf', 'versions.tf']),
    );
    expect(Object.keys(config.modules)).toContain('modules/hospital');
  });

  it('every var., local., module., data. and resource reference resolves', () => {
    expect(allModules(config).flatMap((m) => brokenReferences(config, m))).toEqual([]);
  });

  it('reports a broken reference, naming it', () => {
    const copy = structuredClone(config);
    delete copy.root.resources.google_storage_bucket.artifacts;
    delete copy.root.variables.region;
    const problems = brokenReferences(copy, copy.root).join('\n');
    expect(problems).toMatch(
      /google_storage_bucket\.artifacts\.name: resource google_storage_bucket\.artifacts is not declared/,
    );
    expect(problems).toMatch(/var\.region: variable region is not declared/);
  });

  it('every resource carries the arguments the provider requires (and HIMAS policy adds)', () => {
    const problems: string[] = [];
    for (const mod of allModules(config)) {
      for (const [type, byName] of Object.entries(mod.resources))
        for (const [name, body] of Object.entries(byName)) {
          if (!(type in REQUIRED)) problems.push(`${type}: add its required arguments to REQUIRED`);
          for (const arg of [...(REQUIRED[type] ?? []), ...(POLICY[type] ?? [])])
            if (!has(body, arg)) problems.push(`${label(mod)}${type}.${name}: missing ${arg}`);
        }
      for (const [type, byName] of Object.entries(mod.data))
        for (const [name, body] of Object.entries(byName)) {
          if (!(type in REQUIRED_DATA))
            problems.push(`data ${type}: add its required arguments to REQUIRED_DATA`);
          for (const arg of REQUIRED_DATA[type] ?? [])
            if (!has(body, arg)) problems.push(`${label(mod)}data.${type}.${name}: missing ${arg}`);
        }
    }
    expect(problems).toEqual([]);
  });

  it("the GPU variant asks for an L4 with at least 4 CPU and 16 GiB (Cloud Run's minimum for an L4); CPU asks for none", () => {
    const job = config.modules['modules/hospital'].resources.google_cloud_run_v2_job.train;
    const template = job.template[0].template[0];
    expect(template.dynamic.node_selector[0].for_each).toBe('${var.gpu ? ["nvidia-l4"] : []}');
    expect(template.gpu_zonal_redundancy_disabled).toBe('${var.gpu ? true : null}');
    const limits = String(template.containers[0].resources[0].limits);
    expect(limits).toMatch(/cpu = "4", memory = "16Gi"/);
    expect(limits).toMatch(/var\.gpu \? \{ "nvidia\.com\/gpu" = "1" \} : \{\}/);
  });

  it('hard-codes no project id', () => {
    const literalProject = [
      /\bproject(?:_id)?\s*=\s*"(?!\$\{)[a-z][a-z0-9-]{4,28}[a-z0-9]"/, // project = "my-project"
      /projects\/(?!_\/|\$\{)[a-z][a-z0-9-]{4,28}[a-z0-9]\//, // projects/my-project/...
      /@(?!\$\{|gcp-sa-)[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com/, // sa@my-project.iam... (service agents are Google-owned)
      /-docker\.pkg\.dev\/(?!\$\{)[a-z][a-z0-9-]{4,28}[a-z0-9]\//, // region-docker.pkg.dev/my-project/
    ];
    const texts = allModules(config).flatMap((m) =>
      Object.entries(m.files).map(([file, text]) => [`${label(m)}${file}`, text] as const),
    );
    texts.push(['cloudbuild.yaml', readFileSync(path.join(REPO_ROOT, 'cloudbuild.yaml'), 'utf8')]);
    const hits = texts.flatMap(([file, text]) =>
      literalProject.flatMap((re) => (re.test(text) ? [`${file}: ${re.exec(text)![0]}`] : [])),
    );
    expect(hits).toEqual([]);
  });

  it('grants no primitive role, creates no key and no public member', () => {
    const hits = allModules(config).flatMap((m) =>
      Object.entries(m.files).flatMap(([file, text]) =>
        [/roles\/(owner|editor|viewer)\b/, /google_service_account_key/, /allUsers|allAuthenticatedUsers/]
          .filter((re) => re.test(text))
          .map((re) => `${label(m)}${file}: ${re.exec(text)![0]}`),
      ),
    );
    expect(hits).toEqual([]);
  });

  it('grants no hospital identity a Firestore write role: a hospital job only reads shared state', () => {
    const hospital = config.modules['modules/hospital'];
    const jobMember = 'google_service_account.job.member';
    // Every IAM grant in the hospital module, and any grant in the root to a hospital's account.
    const grants: Array<{ where: string; role: string }> = [];
    for (const [type, resources] of Object.entries(hospital.resources))
      if (type.endsWith('_iam_member'))
        for (const [name, body] of Object.entries(resources)) {
          const b = body as { role?: string; member?: string };
          if (String(b.member).includes(jobMember))
            grants.push({ where: `modules/hospital ${type}.${name}`, role: String(b.role) });
        }
    for (const [type, resources] of Object.entries(config.root.resources))
      if (type.endsWith('_iam_member'))
        for (const [name, body] of Object.entries(resources)) {
          const text = JSON.stringify(body);
          if (/module\.hospital|himas-train-/.test(text))
            grants.push({ where: `${type}.${name}`, role: String((body as { role?: string }).role) });
        }
    const firestore = grants.filter((g) => /^roles\/(datastore|firestore)\./.test(g.role));
    // It must read (runs, rounds, peers' enrolments, model versions), so exactly the viewer role.
    expect(firestore.map((g) => g.role)).toEqual(['roles/datastore.viewer']);
    const writers = firestore.filter((g) => g.role !== 'roles/datastore.viewer');
    expect(writers).toEqual([]);
  });

  it("lets a hospital job write only its own masking objects and read its peers' (secure aggregation)", () => {
    const grants = config.modules['modules/hospital'].resources.google_storage_bucket_iam_member as Record<
      string,
      Body
    >;
    const condition = (name: string) => String(((grants[name].condition as Body[])[0] as Body).expression);
    const writable = iamCondition(condition('own_updates'), 'h1');
    const readable = iamCondition(condition('read_peer_masking'), 'h1');
    const sha = 'a'.repeat(64);
    const own = [
      blobPaths.roundKeys('run-1', 'h1'),
      blobPaths.maskingBundle('run-1', 2, 'h1', sha),
      blobPaths.reveal('run-1', 2, 'h1'),
      blobPaths.update('run-1', 2, 'h1'),
    ];
    const peers = [
      blobPaths.roundKeys('run-1', 'h2'),
      blobPaths.maskingBundle('run-1', 2, 'h2', sha),
      blobPaths.reveal('run-1', 2, 'h2'),
    ];
    for (const name of own) expect({ name, write: writable(name) }).toEqual({ name, write: true });
    for (const name of peers) {
      expect({ name, write: writable(name) }).toEqual({ name, write: false });
      expect({ name, read: readable(name) }).toEqual({ name, read: true });
    }
    // Reading is for the masking documents only: not a peer's update, receipt copy or ledger.
    for (const name of [
      blobPaths.update('run-1', 2, 'h2'),
      blobPaths.acceptedUpdate('run-1', 2, 'h2', sha),
      'ledgers/h2/00000000.json',
    ])
      expect({ name, read: readable(name) }).toEqual({ name, read: false });
  });

  it("grants the operator's dead-letter replay exactly subscriber on each hold and publisher on its source topic", () => {
    const root = config.root;
    expect(root.variables.operator_members.default).toEqual([]);
    const holds = root.resources.google_pubsub_subscription_iam_member.operator_dead_letter_hold;
    const topics = root.resources.google_pubsub_topic_iam_member.operator_replay;
    expect(holds.role).toBe('roles/pubsub.subscriber');
    expect(topics.role).toBe('roles/pubsub.publisher');
    // One grant per (topic, member): the hold of that topic's dead letters, and the topic itself.
    expect(holds.for_each).toBe('${local.operator_grants}');
    expect(topics.for_each).toBe('${local.operator_grants}');
    expect(holds.subscription).toBe('${google_pubsub_subscription.dead_letter_hold[each.value].name}');
    expect(topics.topic).toBe('${google_pubsub_topic.topics[each.value].name}');
    const grants = String(root.locals.operator_grants);
    expect(grants).toContain('setproduct(keys(local.dead_letter_topics), var.operator_members)');
    // Every dead-letter topic key is a source topic key, so each replay target exists.
    expect(Object.keys(root.locals.dead_letter_topics as Body).sort()).toEqual(
      Object.keys(root.locals.topics as Body).sort(),
    );
    // Nothing else names the operators: no project role, no dead-letter topic, no function subscription.
    const mentions = allModules(config).flatMap((m) =>
      Object.entries(m.resources).flatMap(([type, byName]) =>
        Object.entries(byName)
          .filter(([, body]) => JSON.stringify(body).includes('operator_grants'))
          .map(([name]) => `${type}.${name}`),
      ),
    );
    expect(mentions.sort()).toEqual([
      'google_pubsub_subscription_iam_member.operator_dead_letter_hold',
      'google_pubsub_topic_iam_member.operator_replay',
    ]);
  });

  it('gives every component its own service account', () => {
    const accounts = Object.entries(config.root.resources.google_service_account ?? {});
    // The console (terraform/console.tf) has its own read-only account beside the components'.
    expect(accounts.map(([name]) => name).sort()).toEqual(['components', 'console']);
    expect(Object.keys(config.root.locals.components as Body)).not.toContain('console');
    const functionAccounts = Object.values(
      config.root.locals.function_settings as Record<string, { service_account: string }>,
    ).map((f) => f.service_account);
    expect(new Set(functionAccounts).size).toBe(functionAccounts.length);
    expect(config.modules['modules/hospital'].resources.google_service_account.job.account_id).toBe(
      'himas-train-${var.hospital_id}',
    );
  });
});

/**
 * A hospital module's IAM condition (the subset of CEL it uses: startsWith, endsWith, extract,
 * ==, !=, &&, ||, parentheses) as a predicate on an object path in the bucket, for hospital `id`.
 */
function iamCondition(expression: string, id: string): (objectPath: string) => boolean {
  const objects = 'projects/_/buckets/b/objects/';
  const source = expression
    .replaceAll('${local.objects}', objects)
    .replaceAll('${var.hospital_id}', id)
    .replaceAll('resource.name', 'name')
    .replace(/\.extract\(/g, '.__extract(');
  expect(source).not.toMatch(/\$\{/);
  const predicate = new Function('name', `return ${source};`) as (name: CelString) => boolean;
  return (objectPath) => predicate(celString(objects + objectPath));
}

type CelString = string & { __extract(template: string): string };

/** CEL's extract: the text the one {placeholder} of the template matches, or '' when it does not match. */
function celString(value: string): CelString {
  const s = Object.assign(Object(value) as string, {
    __extract(template: string): string {
      const [before, after] = template.split(/\{[^}]+\}/);
      const start = value.indexOf(before);
      if (start < 0) return '';
      const rest = value.slice(start + before.length);
      if (after === '') return rest;
      const end = rest.indexOf(after);
      return end < 0 ? '' : rest.slice(0, end);
    },
  });
  return s as CelString;
}
