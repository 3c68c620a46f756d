import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { cohortSchemaJson, COHORT_SCHEMA_FILE } from '../../scripts/cohort-schema';
import { warehouseSchemaFile, warehouseSchemaJson } from '../../scripts/warehouse-schema';
import { COHORT_CSV_COLUMNS } from '../../src/core/data';
import { WORKFLOW_FILE } from './contract';
import { REPO_ROOT } from './terraform-model';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');

describe('cloudbuild.yaml', () => {
  const build = parseYaml(read('cloudbuild.yaml')) as {
    substitutions: Record<string, string>;
    steps: { id: string; name: string; entrypoint?: string; args?: string[]; waitFor?: string[] }[];
  };
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };

  it('runs install, lint, test, image build and push, and terraform apply', () => {
    expect(build.steps.map((s) => s.id)).toEqual([
      'install',
      'lint',
      'test',
      'stage-function-source',
      'build-train-image',
      'push-train-image',
      'build-console-image',
      'push-console-image',
      'terraform-init',
      'terraform-apply',
    ]);
  });

  it('references only npm scripts, files and folders that exist', () => {
    const missing: string[] = [];
    for (const step of build.steps) {
      const args = step.args ?? [];
      if (step.entrypoint === 'npm' && args[0] === 'run' && !(args[1] in pkg.scripts))
        missing.push(`${step.id}: npm script ${args[1]}`);
      if (step.entrypoint === 'npm' && args[0] === 'test' && !pkg.scripts.test)
        missing.push(`${step.id}: npm test`);
      if (step.entrypoint === 'node')
        for (const file of args.filter((a) => /\.(ts|js|mjs)$/.test(a)))
          if (!existsSync(path.join(REPO_ROOT, file))) missing.push(`${step.id}: ${file}`);
      for (const a of args) {
        const file = /^--file=(.+)$/.exec(a)?.[1];
        if (file && !existsSync(path.join(REPO_ROOT, file))) missing.push(`${step.id}: ${file}`);
        const dir = /^-chdir=(.+)$/.exec(a)?.[1];
        if (dir && !existsSync(path.join(REPO_ROOT, dir))) missing.push(`${step.id}: ${dir}/`);
      }
      for (const w of step.waitFor ?? [])
        if (!build.steps.some((s) => s.id === w)) missing.push(`${step.id}: waits for unknown step ${w}`);
    }
    expect(missing).toEqual([]);
  });

  it('declares every user substitution it uses, and takes project and region as substitutions', () => {
    const used = new Set([...read('cloudbuild.yaml').matchAll(/\$\{(_[A-Z0-9_]+)\}/g)].map((m) => m[1]));
    expect([...used].filter((u) => !(u in build.substitutions))).toEqual([]);
    expect(used).toContain('_REGION');
    expect(read('cloudbuild.yaml')).toContain('$PROJECT_ID');
  });
});

describe('jobs/train/Dockerfile', () => {
  const dockerfile = read('jobs/train/Dockerfile');

  it('is multi-stage on a CUDA 11.2 + cuDNN 8 runtime, runs as non-root, and starts the compiled job', () => {
    expect(dockerfile).toMatch(/nvidia\/cuda:11\.2\.\d+-cudnn8-runtime/);
    expect((dockerfile.match(/^FROM /gm) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(dockerfile).toMatch(/^USER (?!root|0\b)\S+/m);
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toContain('CMD ["node", "dist/jobs/train/main.js"]');
    expect(existsSync(path.join(REPO_ROOT, 'jobs/train/main.ts'))).toBe(true);
  });
});

describe('cohort table', () => {
  it('terraform/modules/hospital/cohort-schema.json is the schema generated from src/core/data', () => {
    // Regenerate with: node bin/run-ts.js scripts/cohort-schema.ts
    expect(readFileSync(COHORT_SCHEMA_FILE, 'utf8')).toBe(cohortSchemaJson());
  });

  it('schemas/cohort-mimic-iv.sql outputs exactly the cohort columns, in order, with dataset names as parameters', () => {
    const sql = read('schemas/cohort-mimic-iv.sql');
    const block = /himas:columns begin[^\n]*\n([\s\S]*?)-- himas:columns end/.exec(sql)?.[1] ?? '';
    const aliases = [...block.matchAll(/\bAS (\w+)\s*$/gm)].map((m) => m[1]);
    expect(aliases).toEqual([...COHORT_CSV_COLUMNS]);
    for (const parameter of ['@hosp_dataset', '@icu_dataset', '@derived_dataset', '@destination_table'])
      expect(sql).toContain(parameter);
    expect(sql).not.toMatch(/physionet-data\.[a-z0-9_]+\.[a-z_]+`/); // no hard-coded source tables
  });
});

describe('warehouse tables', () => {
  it.each(Object.entries(warehouseSchemaJson()))(
    'terraform/warehouse/%s.json is the schema generated from schemas/warehouse.ts',
    (table, json) => {
      // Regenerate with: node bin/run-ts.js scripts/warehouse-schema.ts
      const file = warehouseSchemaFile(table);
      expect(existsSync(file) ? readFileSync(file, 'utf8') : `${file} is missing`).toBe(json);
    },
  );
});

describe('workflows/federated-training.yaml', () => {
  it('validates against the official Cloud Workflows JSON schema', () => {
    // Written in parallel by the workflow work: checked as soon as the file exists.
    if (!existsSync(WORKFLOW_FILE)) {
      console.warn(`${WORKFLOW_FILE} does not exist yet: schema validation not run`);
      return;
    }
    const schema = JSON.parse(read('schemas/reference/cloud-workflows.schema.json'));
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    const doc = parseYaml(readFileSync(WORKFLOW_FILE, 'utf8'));
    const valid = validate(doc);
    expect(valid ? [] : validate.errors?.slice(0, 5)).toEqual([]);
  });
});
