import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkDeployment, loadDeploymentFacts, type DeploymentFacts } from '../../../src/cli/deploy-check';

const REPO = path.join(__dirname, '..', '..', '..');

/** A deployment as docs/operations.md step 10 leaves it: every hospital enrolled. */
const GOOD = {
  project_id: 'himas-prod-1',
  region: 'europe-west4',
  hospitals: {
    'h1-academic': { display_name: 'Academic', declared_train_stays: 1500, signing_key_version: '1' },
    'h2-cardiac': { display_name: 'Cardiac', declared_train_stays: 1200, signing_key_version: '2' },
  },
  train_image: 'europe-west4-docker.pkg.dev/himas-prod-1/himas/himas-train-cpu:v1',
};

describe('himas deploy check', () => {
  let facts: DeploymentFacts;
  beforeAll(async () => {
    facts = await loadDeploymentFacts(REPO);
  });
  const messages = (file: Record<string, unknown>, f = facts) =>
    checkDeployment(f, file).map((x) => `${x.level}: ${x.message}`);

  test('reads the facts from the repository: variables, components, GPU regions, the build, the workflow wait', () => {
    expect(facts.variables.project_id).toEqual({});
    expect(facts.variables.region.default).toBe('europe-west4');
    expect(facts.components).toContain('clinical-support');
    expect(facts.gpuRegions).toEqual(expect.arrayContaining(['europe-west4', 'us-central1']));
    expect(facts.build.applyVars.train_image).toBe(facts.build.pushedImage);
    expect(facts.build.target).toBe('${_TRAIN_VARIANT}');
    expect(facts.workflowJobWaitSeconds).toBe(7200);
  });

  test('a deployment the provider accepts has no finding', () => {
    expect(messages(GOOD)).toEqual([]);
  });

  test('a service account id over 30 characters (the component that broke the first plan)', () => {
    const withLong = { ...facts, components: [...facts.components, 'clinical-decision-support'] };
    expect(messages(GOOD, withLong)).toEqual([
      'error: service account id himas-clinical-decision-support (terraform/main.tf local.components) is 31 characters; the provider accepts 6 to 30',
    ]);
  });

  test('unknown and missing variables, bad ids and sizes, each named', () => {
    const found = messages({
      project_id: 'Bad_Project',
      hospital: {},
      hospitals: {
        'H1!': { display_name: 'x', declared_train_stays: 10 },
        h2: { declared_train_stays: 1.5 },
      },
    }).join('\n');
    expect(found).toMatch(
      /error: variable hospital is not declared in terraform\/variables.tf \(did you mean 'hospitals'\?\)/,
    );
    expect(found).toMatch(/error: project_id 'Bad_Project' is not a project id/);
    expect(found).toMatch(/error: hospital id 'H1!' must match/);
    expect(found).toMatch(/error: hospitals.h2.display_name is required/);
    expect(found).toMatch(
      /error: hospitals.h2.declared_train_stays must be a whole number of stays, at least 1 \(got 1.5\)/,
    );
    const required = { ...facts, variables: { ...facts.variables, new_required: {} } };
    expect(messages(GOOD, required)).toEqual([
      'error: variable new_required is required (no default) and neither the var file nor cloudbuild.yaml sets it',
    ]);
  });

  test('signing keys: "latest" is refused; a hospital without a version gets no job, said as a warning', () => {
    const hospitals = {
      'h1-academic': { display_name: 'A', declared_train_stays: 1500, signing_key_version: 'latest' },
      'h2-cardiac': { display_name: 'C', declared_train_stays: 1200 },
    };
    const found = messages({ ...GOOD, hospitals });
    expect(found).toEqual([
      expect.stringMatching(
        /^error: hospitals.h1-academic.signing_key_version must be the version number `gcloud secrets versions add himas-signing-key-h1-academic` printed/,
      ),
      'warning: no signing_key_version for h2-cardiac: no job is created for it and the workflow leaves it out (docs/operations.md, step 10)',
      'warning: no hospital has an enrolled signing key yet: a run would have no hospital to train',
    ]);
  });

  test('a region without Cloud Run L4 GPUs, a Gemini model without a key version, a job longer than the workflow waits', () => {
    const found = messages({
      ...GOOD,
      region: 'us-west1',
      gemini_model: 'gemini-2.5-flash',
      job_task_timeout_seconds: 3600,
    }).join('\n');
    expect(found).toMatch(/error: region 'us-west1' has no Cloud Run jobs with NVIDIA L4 GPUs/);
    expect(found).toMatch(/error: gemini_model is set but gemini_api_key_version is not a version number/);
    expect(found).toMatch(/error: a job can run 10800 s .* but the workflow waits 7200 s/);
    expect(messages({ ...GOOD, gemini_model: 'gemini-2.5-flash', gemini_api_key_version: '3' })).toEqual([]);
  });

  test('images: the var file names the image cloudbuild.yaml builds for its variant, and the build names one image', () => {
    expect(
      messages({ ...GOOD, train_image: 'europe-west4-docker.pkg.dev/himas-prod-1/himas/himas-train:v1' }),
    ).toEqual([
      'error: train_image europe-west4-docker.pkg.dev/himas-prod-1/himas/himas-train:v1 is not the image cloudbuild.yaml builds for this deployment (europe-west4-docker.pkg.dev/himas-prod-1/himas/himas-train-cpu:<tag>, train_variant cpu)',
    ]);
    expect(
      messages({
        ...GOOD,
        train_variant: 'gpu',
        train_image: 'europe-west4-docker.pkg.dev/himas-prod-1/himas/himas-train-gpu:v1',
      }),
    ).toEqual([]);
    const drifted = {
      ...facts,
      build: {
        ...facts.build,
        pushedImage: 'europe-docker.pkg.dev/$PROJECT_ID/himas/himas-train:$SHORT_SHA',
      },
    };
    expect(messages(GOOD, drifted)).toEqual([
      expect.stringMatching(
        /^error: cloudbuild.yaml names the job image differently: built .*; pushed europe-docker/,
      ),
    ]);
  });

  test('the command: exit 2 naming the problem, 0 when clean; signing-key writes a key once', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'himas-deploy-'));
    try {
      const hcl = (v: Record<string, unknown>) =>
        Object.entries(v)
          .map(([k, x]) => `${k} = ${JSON.stringify(x).replace(/":/g, '" =')}`)
          .join('\n');
      writeFileSync(path.join(dir, 'good.tfvars'), hcl(GOOD));
      writeFileSync(path.join(dir, 'bad.tfvars'), hcl({ ...GOOD, region: 'us-west1' }));
      const run = (...args: string[]) =>
        spawnSync(process.execPath, [path.join(REPO, 'bin', 'himas.js'), 'deploy', ...args], {
          cwd: dir,
          encoding: 'utf8',
        });
      const good = run('check', '--var-file', 'good.tfvars');
      expect(good.stdout).toMatch(/ok: nothing the provider or the APIs would reject/);
      expect(good.status).toBe(0);
      const bad = run('check', '--var-file', 'bad.tfvars');
      expect(bad.stdout).toMatch(/error: region 'us-west1'/);
      expect(bad.status).toBe(2);
      const key = run('signing-key', '--hospital', 'h1-academic', '--out', 'keys');
      expect(key.status).toBe(0);
      expect(existsSync(path.join(dir, 'keys', 'h1-academic.signing.json'))).toBe(true);
      expect(key.stdout).toMatch(
        /gcloud secrets versions add himas-signing-key-h1-academic --data-file=keys\/h1-academic.signing.json/,
      );
      // The operator enrols the public keys; the hospital never enrols itself.
      expect(key.stdout).toMatch(
        /then \(the operator\): npx himas hospitals enrol h1-academic --stack gcp --signing-key \S{44} --masking-key \S{44}\n/,
      );
      const again = run('signing-key', '--hospital', 'h1-academic', '--out', 'keys');
      expect(again.stderr).toMatch(
        /already exists: a hospital keeps one key; .*himas hospitals rotate h1-academic/,
      );
      expect(again.status).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
