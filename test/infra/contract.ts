import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  AuditRecordSchema,
  HospitalEvaluationSchema,
  ModelVersionDocumentSchema,
  RoundDocumentSchema,
  RunDocumentSchema,
  UpdateReceiptSchema,
} from '../../schemas/documents';
import {
  instances,
  moduleScopes,
  REPO_ROOT,
  resolve,
  resolveText,
  rootScope,
  Unresolved,
  type Body,
  type Scope,
  type TfConfig,
} from './terraform-model';
import type { UsedNames } from './used-names';

/**
 * The contract between the code and terraform/: everything the code uses is provisioned, and
 * nothing provisioned is unused. Returns one message per problem, naming the thing and where it
 * comes from, so a test can show exactly what a deletion breaks.
 */
export const WORKFLOW_FILE = path.join(REPO_ROOT, 'workflows', 'federated-training.yaml');
/** Workflows built-ins (https://cloud.google.com/workflows/docs/reference/environment-variables). */
const WORKFLOW_BUILTIN_ENV = /^GOOGLE_CLOUD_/;
const HOSPITAL_MODULE = 'modules/hospital';

const COLLECTION_SCHEMAS: Record<string, { shape: Record<string, unknown> }> = {
  runs: RunDocumentSchema,
  rounds: RoundDocumentSchema,
  updates: UpdateReceiptSchema,
  models: ModelVersionDocumentSchema,
  evaluations: HospitalEvaluationSchema as unknown as { shape: Record<string, unknown> },
  audit: AuditRecordSchema,
};

export interface WorkflowUse {
  /** sys.get_env names, without the built-ins. */
  env: string[];
  /** Names in the containerOverrides env lists of the jobs the workflow runs. */
  jobOverrides: string[];
}

/** What the workflow reads, or null when the file is not there (it is written in parallel). */
export function readWorkflowUse(file = WORKFLOW_FILE): WorkflowUse | null {
  if (!existsSync(file)) return null;
  const doc = parseYaml(readFileSync(file, 'utf8')) as unknown;
  const env = new Set<string>();
  const overrides = new Set<string>();
  const visit = (v: unknown) => {
    if (typeof v === 'string') for (const m of v.matchAll(/sys\.get_env\("([^"]+)"\)/g)) env.add(m[1]);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      const o = v as Body;
      if (Array.isArray(o.env))
        for (const e of o.env) if (e && typeof e.name === 'string') overrides.add(e.name);
      Object.values(o).forEach(visit);
    }
  };
  visit(doc);
  return {
    env: [...env].filter((n) => !WORKFLOW_BUILTIN_ENV.test(n)).sort(),
    jobOverrides: [...overrides].sort(),
  };
}

interface Named {
  name: string;
  body: Body;
  scope: Scope;
  key: string | null;
  address: string;
}

function named(config: TfConfig, type: string, problems: string[], scopes = [rootScope(config)]): Named[] {
  const out: Named[] = [];
  for (const scope of scopes)
    for (const [resName, body] of Object.entries(scope.module.resources[type] ?? {})) {
      try {
        for (const i of instances(body, scope)) {
          const name = resolve(body.name, i.scope);
          if (typeof name !== 'string') throw new Unresolved(`name of ${type}.${resName}`);
          out.push({ name, body, scope: i.scope, key: i.key, address: `${type}.${resName}` });
        }
      } catch (error) {
        if (!(error instanceof Unresolved)) throw error;
        problems.push(`cannot resolve ${type}.${resName}: ${error.message}`);
      }
    }
  return out;
}

const block = (body: Body, key: string): Body | undefined => (body[key] as Body[] | undefined)?.[0];

function envNames(value: unknown, scope: Scope, what: string, problems: string[]): string[] {
  try {
    const env = resolve(value, scope);
    if (!env || typeof env !== 'object') throw new Unresolved(String(value));
    return Object.keys(env as Body);
  } catch (error) {
    if (!(error instanceof Unresolved)) throw error;
    problems.push(`cannot resolve the environment of ${what}: ${error.message}`);
    return [];
  }
}

/** ledgers/HOSPITAL/ => 'objects/ledgers/', the prefix every published ledger object's name has. */
const privacyFragment = (used: UsedNames) =>
  `objects/${used.blob.ledgerMirror.slice(0, used.blob.ledgerMirror.indexOf(used.blob.hospital))}`;

/** The key of `google_cloudfunctions2_function.functions[<index>]`: a literal or a for_each value. */
function pushTargetKey(index: string, scope: Scope): string | undefined {
  const quoted = /^"(.*)"$/.exec(index.trim());
  if (quoted) return quoted[1];
  try {
    const v = resolve(`\${${index.trim()}}`, scope);
    return typeof v === 'string' ? v : undefined;
  } catch (error) {
    if (!(error instanceof Unresolved)) throw error;
    return undefined;
  }
}

export function checkContract(config: TfConfig, used: UsedNames, workflow: WorkflowUse | null): string[] {
  const problems: string[] = [];
  const root = rootScope(config);
  const hospitalScopes = moduleScopes(config, HOSPITAL_MODULE);

  // Topics and dead-letter topics.
  const topics = named(config, 'google_pubsub_topic', problems);
  const topicNames = new Set(topics.map((t) => t.name));
  for (const [key, topic] of Object.entries(used.topics)) {
    if (!topicNames.has(topic))
      problems.push(
        `topic ${topic} (schemas/events.ts TOPICS.${key}) is not provisioned (google_pubsub_topic)`,
      );
  }
  for (const topic of used.deadLetterTopics)
    if (!topicNames.has(topic))
      problems.push(`dead-letter topic ${topic} (deadLetterTopic() in schemas/events.ts) is not provisioned`);
  const usedTopics = new Set([...Object.values(used.topics), ...used.deadLetterTopics]);
  for (const t of topics)
    if (!usedTopics.has(t.name))
      problems.push(`provisioned topic ${t.name} (${t.address}) is not used by the code`);

  // Functions: entry points registered in functions/* vs google_cloudfunctions2_function.
  const functions = named(config, 'google_cloudfunctions2_function', problems).map((f) => {
    const build = block(f.body, 'build_config') ?? {};
    return {
      ...f,
      entryPoint: resolve(build.entry_point, f.scope),
      runtime: resolve(build.runtime, f.scope),
    };
  });
  for (const fn of used.functions) {
    const deployed = functions.filter((f) => f.entryPoint === fn.entryPoint);
    if (deployed.length === 0)
      problems.push(
        `function entry point '${fn.entryPoint}' (registered in ${fn.dir}/index.ts) is not provisioned`,
      );
    for (const f of deployed)
      if (f.runtime !== 'nodejs22')
        problems.push(`function ${f.name} runs ${String(f.runtime)}, not nodejs22`);
  }
  for (const f of functions) {
    const registered = used.functions.find((fn) => fn.entryPoint === f.entryPoint);
    const sourceDir = f.key ? (f.scope.each?.value as Body | undefined)?.source_dir : undefined;
    if (registered && sourceDir !== undefined && sourceDir !== registered.dir)
      problems.push(
        `function ${f.name} says its source is ${String(sourceDir)}, but '${registered.entryPoint}' is registered in ${registered.dir}/index.ts`,
      );
  }
  for (const f of functions)
    if (!used.functions.some((fn) => fn.entryPoint === f.entryPoint))
      problems.push(
        `provisioned function ${f.name} has entry point '${String(f.entryPoint)}', which no functions/* registers`,
      );

  // Subscriptions: the aggregator's and the agents', with dead-lettering and retries, each pushed to
  // the function whose entry point the code subscribes.
  const subscriptions = named(config, 'google_pubsub_subscription', problems).map((s) => {
    const topic = (() => {
      try {
        return resolve(s.body.topic, s.scope);
      } catch (error) {
        if (!(error instanceof Unresolved)) throw error;
        problems.push(`cannot resolve the topic of subscription ${s.name}: ${error.message}`);
        return undefined;
      }
    })();
    return { ...s, topic };
  });
  for (const sub of used.subscriptions) {
    const s = subscriptions.find((x) => x.name === sub.name);
    if (!s) {
      problems.push(
        `subscription ${sub.name} (${sub.source}, src/local/embedded-platform.ts) is not provisioned`,
      );
      continue;
    }
    if (s.topic !== sub.topic)
      problems.push(`subscription ${sub.name} is on ${String(s.topic)}, the code expects ${sub.topic}`);
    const dlp = block(s.body, 'dead_letter_policy');
    const dlTopic = dlp ? resolveText(dlp.dead_letter_topic, s.scope) : undefined;
    if (dlTopic !== `${sub.topic}-dead-letter`)
      problems.push(
        `subscription ${sub.name} must dead-letter to ${sub.topic}-dead-letter (has ${String(dlTopic)})`,
      );
    if (!block(s.body, 'retry_policy')) problems.push(`subscription ${sub.name} has no retry_policy`);
    const push = block(s.body, 'push_config');
    const target = /google_cloudfunctions2_function\.(\w+)\[([^\]]+)\]/.exec(
      String(push?.push_endpoint ?? ''),
    );
    const key = target ? pushTargetKey(target[2], s.scope) : undefined;
    const fn = target
      ? functions.find((f) => f.address.endsWith(`.${target[1]}`) && f.key === key)
      : undefined;
    if (fn?.entryPoint !== sub.entryPoint)
      problems.push(
        `subscription ${sub.name} does not push to the function with entry point '${sub.entryPoint}'`,
      );
  }
  for (const s of subscriptions) {
    const isUsed = used.subscriptions.some((u) => u.name === s.name);
    const holdsDeadLetters = used.deadLetterTopics.includes(String(s.topic));
    if (!isUsed && !holdsDeadLetters)
      problems.push(`provisioned subscription ${s.name} (${s.address}) is not used by the code`);
  }
  for (const fn of used.functions.filter((f) => f.kind === 'cloudEvent')) {
    const fed = subscriptions.some((s) => {
      const target = /google_cloudfunctions2_function\.(\w+)\[([^\]]+)\]/.exec(
        String(block(s.body, 'push_config')?.push_endpoint ?? ''),
      );
      const key = target ? pushTargetKey(target[2], s.scope) : undefined;
      return functions.some(
        (f) => f.entryPoint === fn.entryPoint && f.address.endsWith(`.${target?.[1]}`) && f.key === key,
      );
    });
    const triggered = functions.some((f) => f.entryPoint === fn.entryPoint && block(f.body, 'event_trigger'));
    if (!fed && !triggered)
      problems.push(`event function '${fn.entryPoint}' is fed by no subscription or trigger`);
  }

  // Hospital jobs: himas-train-<hospital>, one per hospital.
  const jobs = named(config, 'google_cloud_run_v2_job', problems, hospitalScopes);
  if (hospitalScopes.length === 0) problems.push(`no hospital is provisioned (module ${HOSPITAL_MODULE})`);
  for (const scope of hospitalScopes) {
    const hospital = scope.parent?.each?.key;
    const expected = `${used.jobPrefix}${hospital}`;
    if (!jobs.some((j) => j.scope.parent === scope.parent && j.name === expected))
      problems.push(
        `job ${expected} (the workflow names jobs ${used.jobPrefix}<hospital>) is not provisioned`,
      );
  }
  for (const j of jobs)
    if (!j.name.startsWith(used.jobPrefix))
      problems.push(`provisioned job ${j.name} does not follow ${used.jobPrefix}<hospital>`);

  // Environment: the stack's variables everywhere, a job's own, and the workflow's overrides. Every
  // name of STACK_ENV_VARS is classified, so a new one fails here until the contract knows it.
  const stack = new Set(used.stackEnv);
  const classified = new Set([...used.stackEnv, ...used.jobOnlyEnv, ...used.emulatorOnlyEnv]);
  for (const v of used.stackEnvVars)
    if (!classified.has(v))
      problems.push(
        `env var ${v} (src/config/stack-config.ts STACK_ENV_VARS) is neither a gcp stack, a job nor an emulator-only variable to the contract`,
      );
  const emulatorOnly = (v: string, where: string) =>
    used.emulatorOnlyEnv.includes(v)
      ? `${where} gets env var ${v}, which is emulator-only (src/config/stack-config.ts) and must not be set by Terraform`
      : undefined;
  for (const f of functions) {
    const names = envNames(block(f.body, 'service_config')?.environment_variables, f.scope, f.name, problems);
    for (const v of used.stackEnv)
      if (!names.includes(v))
        problems.push(
          `env var ${v} (src/config/stack-config.ts STACK_ENV_VARS) is not provisioned for function ${f.name}`,
        );
    for (const v of names)
      if (!stack.has(v) && !used.cloudServiceEnv.includes(v))
        problems.push(
          emulatorOnly(v, `function ${f.name}`) ??
            `function ${f.name} gets env var ${v}, which the code does not read`,
        );
  }
  const jobEnvNames = new Set(used.jobEnv.map((e) => e.name));
  for (const j of jobs) {
    const template = block(block(j.body, 'template') ?? {}, 'template') ?? {};
    const container = block(template, 'containers') ?? {};
    const env: Record<string, unknown> = {};
    for (const d of (container.dynamic?.env ?? []) as Body[])
      for (const name of envNames(d.for_each, j.scope, j.name, problems))
        env[name] = (resolve(d.for_each, j.scope) as Body)[name];
    for (const e of (container.env ?? []) as Body[]) env[String(e.name)] = e.value;
    const names = Object.keys(env);
    for (const v of [...used.stackEnv, ...used.jobOnlyEnv])
      if (!names.includes(v)) problems.push(`env var ${v} is not provisioned for job ${j.name}`);
    for (const v of names)
      if (
        !stack.has(v) &&
        !used.jobOnlyEnv.includes(v) &&
        !used.optionalJobEnv.includes(v) &&
        !jobEnvNames.has(v)
      )
        problems.push(
          emulatorOnly(v, `job ${j.name}`) ?? `job ${j.name} gets env var ${v}, which the code does not read`,
        );
    // The folders the job reads must be there: the cohort (a Cloud Storage volume) and the key (a secret).
    const volumes = ((template.volumes ?? []) as Body[]).map((v) => ({
      name: String(v.name),
      kind: v.gcs ? 'gcs' : v.secret ? 'secret' : 'other',
    }));
    const mounts = ((container.volume_mounts ?? []) as Body[]).map((m) => ({
      name: String(m.name),
      path: resolveText(m.mount_path, j.scope),
    }));
    for (const [v, kind] of [
      [used.jobOnlyEnv.find((n) => n === 'HIMAS_DATA_DIR'), 'gcs'],
      ['HIMAS_KEYS_DIR', 'secret'],
    ] as const) {
      if (!v || !(v in env)) continue;
      const dir = resolveText(env[v], j.scope);
      const mount = mounts.find((m) => m.path === dir);
      if (!mount || volumes.find((x) => x.name === mount.name)?.kind !== kind)
        problems.push(`job ${j.name}: ${v}=${dir} is not the mount path of a ${kind} volume of the job`);
    }
    if (workflow) {
      const provided = new Set([...names, ...workflow.jobOverrides]);
      for (const e of used.jobEnv.filter((x) => x.required))
        if (!provided.has(e.name))
          problems.push(
            `env var ${e.name} (required by src/config/job-env.ts) reaches job ${j.name} from neither Terraform nor the workflow`,
          );
    }
  }
  if (workflow) {
    for (const v of workflow.jobOverrides)
      if (!jobEnvNames.has(v))
        problems.push(`the workflow passes ${v} to jobs, which src/config/job-env.ts does not read`);
    const wfs = Object.values(config.root.resources.google_workflows_workflow ?? {});
    if (wfs.length !== 1) problems.push(`expected one google_workflows_workflow, found ${wfs.length}`);
    for (const wf of wfs) {
      const names = envNames(wf.user_env_vars, root, 'the workflow', problems);
      for (const v of workflow.env)
        if (!names.includes(v))
          problems.push(`env var ${v} (read by workflows/federated-training.yaml) is not in user_env_vars`);
      for (const v of names)
        if (!workflow.env.includes(v))
          problems.push(`user_env_vars sets ${v}, which the workflow does not read`);
      if (!String(wf.source_contents).includes('workflows/federated-training.yaml'))
        problems.push('the workflow is not loaded from workflows/federated-training.yaml');
    }
  }

  // Firestore: collections of schemas/documents.ts paths, and indexes on fields that exist.
  let provisioned: string[] = [];
  try {
    const c = resolve('${local.firestore_collections}', root);
    provisioned = Object.values(c as Record<string, string>);
  } catch (error) {
    if (!(error instanceof Unresolved)) throw error;
    problems.push('local.firestore_collections (the Firestore collections) is missing');
  }
  for (const c of used.collections)
    if (!provisioned.includes(c))
      problems.push(`Firestore collection ${c} (schemas/documents.ts paths) is not provisioned`);
  for (const c of provisioned)
    if (!used.collections.includes(c))
      problems.push(`provisioned Firestore collection ${c} is not used by the code`);
  for (const [name, index] of Object.entries(config.root.resources.google_firestore_index ?? {})) {
    const collection = String(resolve(index.collection, root));
    if (!used.collections.includes(collection))
      problems.push(`index ${name} is on unused collection ${collection}`);
    const shape = COLLECTION_SCHEMAS[collection]?.shape ?? {};
    for (const field of (index.fields ?? []) as Body[])
      if (!(field.field_path in shape))
        problems.push(
          `index ${name} orders on ${collection}.${field.field_path}, which schemas/documents.ts does not define`,
        );
  }

  // Blob access: each hospital's IAM Conditions cover exactly the code's blob paths for that hospital.
  const h = used.blob.hospital;
  for (const scope of hospitalScopes) {
    const id = String(scope.parent?.each?.key);
    const conditions = Object.values(scope.module.resources.google_storage_bucket_iam_member ?? {}).map((b) =>
      resolveText(block(b, 'condition')?.expression ?? '', scope),
    );
    const expectations: [string, string][] = [
      [`objects/${used.blob.update.split('/')[0]}/`, 'runs/ prefix'],
      [used.blob.update.slice(used.blob.update.lastIndexOf('/updates/')).replace(h, id), 'update'],
      [
        `${used.blob.releases.slice(0, used.blob.releases.lastIndexOf(h)).replace(/^.*(\/releases\/)$/, '$1')}{hospital}/`,
        'releases',
      ],
      [`objects/${used.blob.models.split('/')[0]}/`, 'models'],
      [`${privacyFragment(used)}${id}/`, 'published privacy ledger'],
    ];
    for (const [fragment, what] of expectations)
      if (!conditions.some((c) => c.includes(fragment)))
        problems.push(
          `no IAM condition of hospital ${id} covers its ${what} blobs (expected '${fragment}', from schemas/documents.ts blobPaths)`,
        );
  }

  // The guardian reads the published privacy ledgers (blobPaths.ledgerMirror), and nothing else.
  const guardianReads = Object.values(config.root.resources.google_storage_bucket_iam_member ?? {})
    .filter((b) => String(b.member).includes('"privacy-guardian"'))
    .map((b) => resolveText(block(b, 'condition')?.expression ?? '', root));
  if (!guardianReads.some((c) => c.includes(privacyFragment(used))))
    problems.push(
      `the privacy guardian cannot read the published privacy ledgers (expected a condition with '${privacyFragment(used)}', from schemas/documents.ts blobPaths.ledgerMirror)`,
    );
  for (const c of guardianReads)
    if (!c.includes(privacyFragment(used)))
      problems.push(
        `the privacy guardian reads objects beyond the patient ledgers (condition: ${c || 'none'})`,
      );

  // Warehouse: the agents' dataset holds exactly the tables of schemas/warehouse.ts.
  const tables: string[] = [];
  for (const [resName, body] of Object.entries(config.root.resources.google_bigquery_table ?? {})) {
    try {
      for (const i of instances(body, root)) tables.push(String(resolve(body.table_id, i.scope)));
    } catch (error) {
      if (!(error instanceof Unresolved)) throw error;
      problems.push(`cannot resolve google_bigquery_table.${resName}: ${error.message}`);
    }
  }
  for (const t of used.warehouseTables)
    if (!tables.includes(t))
      problems.push(`warehouse table ${t} (schemas/warehouse.ts WAREHOUSE_TABLES) is not provisioned`);
  for (const t of tables)
    if (!used.warehouseTables.includes(t))
      problems.push(`provisioned BigQuery table ${t} is not a warehouse table of the code`);

  // Log events that metrics, sinks and alerts filter on are written by the code.
  try {
    const events = resolve('${local.log_events}', root) as Record<string, string>;
    for (const [key, event] of Object.entries(events))
      if (!used.logEvents.includes(event))
        problems.push(
          `log event ${event} (local.log_events.${key}) is never written by the code (src/logs.ts)`,
        );
  } catch (error) {
    if (!(error instanceof Unresolved)) throw error;
    problems.push('local.log_events is missing');
  }
  return problems;
}
