import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadTerraform, REPO_ROOT, type Body, type TfModule } from './terraform-model';

/**
 * terraform/console.tf: the web console's Cloud Run service and its read-only identity, checked
 * statically (no cloud account): which roles it gets, on what, who may call it, and that its image
 * is built and deployed by cloudbuild.yaml.
 */
describe('terraform/console.tf (the web console on Cloud Run)', () => {
  let root: TfModule;
  const consoleMember = '${google_service_account.console.member}';
  beforeAll(async () => {
    root = (await loadTerraform()).root;
  });
  const bindings = (type: string): [string, Body][] =>
    Object.entries(root.resources[type] ?? {}).filter(([, b]) => b.member === consoleMember);

  it('runs as its own service account, one no other resource uses', () => {
    const service = root.resources.google_cloud_run_v2_service.console;
    expect(service.template[0].service_account).toBe('${google_service_account.console.email}');
    expect(root.resources.google_service_account.console.account_id).toBe('himas-console');
    const texts = Object.entries(root.files).filter(([file]) => file !== 'console.tf');
    for (const [file, text] of texts)
      expect(`${file}: ${text.includes('google_service_account.console')}`).toBe(`${file}: false`);
  });

  it('its identity can only read: Firestore viewer, BigQuery reads of the agents dataset, two bucket prefixes', () => {
    const projectRoles = bindings('google_project_iam_member')
      .map(([, b]) => b.role)
      .sort();
    expect(projectRoles).toEqual(['roles/bigquery.jobUser', 'roles/datastore.viewer']);
    const datasets = bindings('google_bigquery_dataset_iam_member').map(([, b]) => [b.dataset_id, b.role]);
    expect(datasets).toEqual([['${google_bigquery_dataset.agents.dataset_id}', 'roles/bigquery.dataViewer']]);
    const bucket = bindings('google_storage_bucket_iam_member');
    expect(bucket.map(([, b]) => b.role)).toEqual([
      'roles/storage.objectViewer',
      'roles/storage.objectViewer',
    ]);
    const prefixes = bucket
      .map(([, b]) => /objects\/([a-z]+\/)"\)$/.exec(b.condition[0].expression)?.[1])
      .sort();
    expect(prefixes).toEqual(['ledgers/', 'models/']);
    for (const [, b] of bucket)
      expect(b.condition[0].expression).toMatch(
        /^resource\.name\.startsWith\("projects\/_\/buckets\/\$\{google_storage_bucket\.artifacts\.name\}\/objects\/(models|ledgers)\/"\)$/,
      );
    // Nothing else anywhere grants the console's account anything.
    const all = Object.entries(root.resources).flatMap(([type, byName]) =>
      Object.entries(byName)
        .filter(([, b]) => b.member === consoleMember)
        .map(([name]) => `${type}.${name}`),
    );
    expect(all.sort()).toEqual([
      'google_bigquery_dataset_iam_member.console_reads_warehouse',
      'google_project_iam_member.console_reads_firestore',
      'google_project_iam_member.console_runs_queries',
      'google_storage_bucket_iam_member.console_reads_ledgers',
      'google_storage_bucket_iam_member.console_reads_models',
    ]);
  });

  it('no public access: invokers are the named list only, empty by default, and public members are refused', () => {
    const invokers = root.resources.google_cloud_run_v2_service_iam_member.console_invokers;
    expect(invokers.role).toBe('roles/run.invoker');
    expect(invokers.member).toBe('${each.value}');
    expect(invokers.for_each).toMatch(/toset\(var\.console_invokers\)/);
    expect(root.variables.console_invokers.default).toEqual([]);
    const validation = root.variables.console_invokers.validation[0].condition as string;
    // The variable's own check refuses allUsers and allAuthenticatedUsers (evaluated here as Terraform would).
    const pattern = new RegExp(/regex\("([^"]+)"/.exec(validation)![1]);
    expect(['allUsers', 'allAuthenticatedUsers'].filter((m) => pattern.test(m))).toHaveLength(2);
    expect(['group:icu-ml@example.org', 'user:a@example.org'].filter((m) => pattern.test(m))).toHaveLength(0);
    expect(readFileSync(path.join(REPO_ROOT, 'terraform', 'console.tf'), 'utf8')).not.toMatch(
      /"allUsers"|"allAuthenticatedUsers"/,
    );
  });

  it('serves `himas ui --stack gcp` on Cloud Run with the stack variables the code reads', () => {
    const service = root.resources.google_cloud_run_v2_service.console;
    const container = service.template[0].containers[0];
    expect(container.args).toEqual(['ui', '--stack', 'gcp', '--host', '0.0.0.0']);
    expect(container.ports[0].container_port).toBe(8080);
    expect(container.dynamic.env[0].for_each).toMatch(/local\.stack_env/);
    expect(service.count).toMatch(/var\.console_image == ""/);
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'src', 'ui', 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "bin\/himas\.js"\]/);
    expect(dockerfile).toMatch(/USER 10001/);
  });

  it('cloudbuild.yaml builds and pushes the console image and hands it to terraform apply', () => {
    const build = parseYaml(readFileSync(path.join(REPO_ROOT, 'cloudbuild.yaml'), 'utf8')) as {
      steps: { id: string; args: string[]; waitFor?: string[] }[];
      images: string[];
    };
    const image = '${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/himas-console:$SHORT_SHA';
    const step = (id: string) => build.steps.find((s) => s.id === id)!;
    expect(step('build-console-image').args).toEqual(
      expect.arrayContaining(['--file=src/ui/Dockerfile', `--tag=${image}`]),
    );
    expect(step('push-console-image').args).toEqual(['push', image]);
    expect(step('push-console-image').waitFor).toContain('test');
    expect(step('terraform-init').waitFor).toContain('push-console-image');
    expect(step('terraform-apply').args).toContain(`-var=console_image=${image}`);
    expect(build.images).toContain(image);
    // The Docker context lets in what the console image copies.
    const ignore = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8');
    expect(ignore).toMatch(/^!bin\/$/m);
  });
});
