import { functionFolders } from '../../scripts/stage-function-source';
import { checkContract, readWorkflowUse, WORKFLOW_FILE, type WorkflowUse } from './contract';
import { cloneConfig, loadTerraform, type TfConfig } from './terraform-model';
import { usedNames, type UsedNames } from './used-names';

/**
 * Everything the code uses is provisioned by terraform/, and nothing provisioned is unused.
 * "Used" comes from the code itself (exported constants, registered entry points, an observed
 * driver run), never from grepping its text.
 */
describe('code ↔ Terraform contract', () => {
  let config: TfConfig;
  let used: UsedNames;
  let workflow: WorkflowUse | null = null;
  let workflowError: Error | null = null;

  beforeAll(async () => {
    [config, used] = await Promise.all([loadTerraform(), usedNames()]);
    try {
      workflow = readWorkflowUse();
    } catch (error) {
      workflowError = error as Error;
    }
    if (!workflow && !workflowError)
      // The workflow is written in parallel; until it lands its env vars and job overrides are unchecked.
      console.warn(`${WORKFLOW_FILE} is missing: the workflow part of the contract is not checked`);
  });

  it('can read what the workflow uses (workflows/federated-training.yaml parses as YAML)', () => {
    expect(workflowError?.message ?? null).toBeNull();
  });

  it('collects what the code uses', () => {
    expect(Object.values(used.topics)).toEqual([
      'himas-rounds',
      'himas-updates',
      'himas-models',
      'himas-alerts',
    ]);
    expect(used.functions.map((f) => f.entryPoint).sort()).toEqual([
      'aggregate',
      'clinicalDecisionSupport',
      'coordinator',
      'diseaseSurveillance',
      'orchestrator',
      'privacyGuardian',
      'treatmentOptimization',
    ]);
    expect(used.functions.find((f) => f.entryPoint === 'privacyGuardian')?.dir).toBe(
      'functions/agents/privacy-guardian',
    );
    expect(used.subscriptions.map((s) => `${s.name}→${s.entryPoint}`)).toEqual([
      'himas-aggregate-updates→aggregate',
      'himas-aggregate-rounds→aggregate',
      'himas-agent-privacy-guardian→privacyGuardian',
      'himas-agent-orchestrator→orchestrator',
      'himas-agent-clinical-decision-support→clinicalDecisionSupport',
      'himas-agent-disease-surveillance→diseaseSurveillance',
      'himas-agent-treatment-optimization→treatmentOptimization',
    ]);
    expect(used.stackEnv).toEqual(['HIMAS_STACK', 'HIMAS_PROJECT', 'HIMAS_BUCKET', 'HIMAS_REGION']);
    expect(used.jobOnlyEnv).toEqual(['HIMAS_DATA_DIR', 'HIMAS_KEYS_DIR', 'HIMAS_LEDGER_BUCKET']);
    expect(used.emulatorOnlyEnv).toEqual([
      'PUBSUB_EMULATOR_HOST',
      'FIRESTORE_EMULATOR_HOST',
      'HIMAS_BLOB_DIR',
    ]);
    expect(used.warehouseTables).toEqual([
      'privacy_audit',
      'run_progress',
      'surveillance_releases',
      'surveillance_alerts',
      'treatment_tables',
      'treatment_estimates',
    ]);
    expect(used.jobPrefix).toBe('himas-train-');
    expect(used.collections).toEqual([
      'audit',
      'evaluations',
      'hospitals',
      'models',
      'rounds',
      'runs',
      'seeds',
      'updates',
    ]);
    expect(used.jobEnv.filter((e) => e.required).map((e) => e.name)).toEqual([
      'HIMAS_RUN_ID',
      'HIMAS_HOSPITAL_ID',
    ]);
    expect(used.logEvents).toEqual(
      expect.arrayContaining(['round.closed', 'update.rejected', 'run.halted', 'job.failed']),
    );
  });

  it('the staged function source loads every folder that registers an entry point', () => {
    expect(functionFolders().map((d) => `functions/${d}`)).toEqual(used.functions.map((f) => f.dir).sort());
  });

  it('holds: every topic, subscription, entry point, job, env var and collection is provisioned and used', () => {
    expect(checkContract(config, used, workflow)).toEqual([]);
  });

  describe('fails, naming what is missing, when Terraform loses', () => {
    const problemsAfter = (edit: (c: TfConfig) => void) => {
      const copy = cloneConfig(config);
      edit(copy);
      return checkContract(copy, used, workflow).join('\n');
    };
    const locals = (c: TfConfig) => c.root.locals as Record<string, Record<string, unknown>>;

    it('a topic', () => {
      expect(problemsAfter((c) => delete locals(c).topics.alerts)).toMatch(
        /topic himas-alerts \(schemas\/events.ts TOPICS.alerts\) is not provisioned/,
      );
    });

    it('the dead-letter topics', () => {
      expect(problemsAfter((c) => delete c.root.resources.google_pubsub_topic.dead_letter)).toMatch(
        /dead-letter topic himas-updates-dead-letter .* is not provisioned/,
      );
    });

    it('a subscription', () => {
      expect(
        problemsAfter((c) => delete locals(c).aggregator_subscriptions['himas-aggregate-rounds']),
      ).toMatch(/subscription himas-aggregate-rounds \(AGGREGATOR_SUBSCRIPTIONS.*\) is not provisioned/);
    });

    it('an agent subscription', () => {
      expect(problemsAfter((c) => delete locals(c).agent_subscriptions['himas-agent-orchestrator'])).toMatch(
        /subscription himas-agent-orchestrator \(AGENT_SUBSCRIPTIONS.*\) is not provisioned/,
      );
    });

    it('the push of an agent subscription to its function', () => {
      const problems = problemsAfter(
        (c) =>
          ((
            locals(c).agent_subscriptions['himas-agent-privacy-guardian'] as Record<string, string>
          ).function = 'himas-orchestrator'),
      );
      expect(problems).toMatch(
        /subscription himas-agent-privacy-guardian does not push to the function with entry point 'privacyGuardian'/,
      );
      expect(problems).toMatch(/event function 'privacyGuardian' is fed by no subscription or trigger/);
    });

    it('an agent function', () => {
      expect(problemsAfter((c) => delete locals(c).functions['himas-privacy-guardian'])).toMatch(
        /function entry point 'privacyGuardian' \(registered in functions\/agents\/privacy-guardian\/index.ts\) is not provisioned/,
      );
    });

    it('the source folder of a function', () => {
      expect(
        problemsAfter(
          (c) =>
            ((locals(c).functions['himas-orchestrator'] as Record<string, string>).source_dir =
              'functions/orchestrator'),
        ),
      ).toMatch(
        /function himas-orchestrator says its source is functions\/orchestrator, but 'orchestrator' is registered in functions\/agents\/orchestrator\/index.ts/,
      );
    });

    it('a warehouse table', () => {
      expect(problemsAfter((c) => delete locals(c).warehouse_tables.run_progress)).toMatch(
        /warehouse table run_progress \(schemas\/warehouse.ts WAREHOUSE_TABLES\) is not provisioned/,
      );
    });

    it("the privacy guardian's read of the published privacy ledgers", () => {
      expect(
        problemsAfter((c) => delete c.root.resources.google_storage_bucket_iam_member.guardian_reads_ledgers),
      ).toMatch(
        /the privacy guardian cannot read the published privacy ledgers \(expected a condition with 'objects\/ledgers\/'/,
      );
    });

    it('a function', () => {
      expect(problemsAfter((c) => delete locals(c).functions['himas-coordinator'])).toMatch(
        /function entry point 'coordinator' \(registered in functions\/coordinator\/index.ts\) is not provisioned/,
      );
    });

    it('an env var of the functions and jobs', () => {
      const problems = problemsAfter((c) => delete locals(c).stack_env.HIMAS_BUCKET);
      expect(problems).toMatch(/env var HIMAS_BUCKET .* is not provisioned for function himas-aggregate/);
      expect(problems).toMatch(/env var HIMAS_BUCKET is not provisioned for job himas-train-h1-academic/);
    });

    it('a stack env var of the agent functions', () => {
      expect(problemsAfter((c) => delete locals(c).stack_env.HIMAS_REGION)).toMatch(
        /env var HIMAS_REGION \(src\/config\/stack-config.ts STACK_ENV_VARS\) is not provisioned for function himas-privacy-guardian/,
      );
    });

    it("a job's cohort folder and key folder", () => {
      const hospital = (c: TfConfig) =>
        c.modules['modules/hospital'].locals.job_env as Record<string, string>;
      expect(problemsAfter((c) => delete hospital(c).HIMAS_DATA_DIR)).toMatch(
        /env var HIMAS_DATA_DIR is not provisioned for job himas-train-h2-cardiac/,
      );
      expect(problemsAfter((c) => delete hospital(c).HIMAS_KEYS_DIR)).toMatch(
        /env var HIMAS_KEYS_DIR is not provisioned for job himas-train-h2-cardiac/,
      );
    });

    it('the volume behind a job folder', () => {
      const template = (c: TfConfig) =>
        c.modules['modules/hospital'].resources.google_cloud_run_v2_job.train.template[0].template[0];
      expect(problemsAfter((c) => delete template(c).volumes)).toMatch(
        /job himas-train-h1-academic: HIMAS_KEYS_DIR=\/mnt\/keys is not the mount path of a secret volume of the job/,
      );
    });

    it('a variable the code adds to STACK_ENV_VARS', () => {
      const problems = checkContract(
        config,
        { ...used, stackEnvVars: [...used.stackEnvVars, 'HIMAS_WAREHOUSE'] },
        workflow,
      ).join('\n');
      expect(problems).toMatch(
        /env var HIMAS_WAREHOUSE \(src\/config\/stack-config.ts STACK_ENV_VARS\) is neither/,
      );
    });

    it('an env var of the workflow', () => {
      if (!workflow) return; // nothing to compare with until workflows/federated-training.yaml exists
      expect(problemsAfter((c) => delete locals(c).workflow_env.HIMAS_JOB_PREFIX)).toMatch(
        /env var HIMAS_JOB_PREFIX \(read by workflows\/federated-training.yaml\) is not in user_env_vars/,
      );
    });

    it('a Firestore collection', () => {
      expect(problemsAfter((c) => delete locals(c).firestore_collections.evaluations)).toMatch(
        /Firestore collection evaluations \(schemas\/documents.ts paths\) is not provisioned/,
      );
    });

    it('the hospital jobs', () => {
      expect(
        problemsAfter(
          (c) => (locals(c).job_prefix as unknown as string) && (c.root.locals.job_prefix = 'train-'),
        ),
      ).toMatch(/job himas-train-h2-cardiac .* is not provisioned/);
    });
  });

  describe('fails when Terraform provisions something the code does not use', () => {
    it('an extra topic', () => {
      const copy = cloneConfig(config);
      (copy.root.locals.topics as Record<string, string>).legacy = 'himas-legacy';
      expect(checkContract(copy, used, workflow).join('\n')).toMatch(
        /provisioned topic himas-legacy .* is not used/,
      );
    });

    it('an extra agent subscription', () => {
      const copy = cloneConfig(config);
      (copy.root.locals.agent_subscriptions as Record<string, unknown>)['himas-agent-auditor'] = {
        topic: 'models',
        function: 'himas-orchestrator',
      };
      expect(checkContract(copy, used, workflow).join('\n')).toMatch(
        /provisioned subscription himas-agent-auditor .* is not used by the code/,
      );
    });

    it('an emulator-only env var', () => {
      const copy = cloneConfig(config);
      (copy.root.locals.stack_env as Record<string, string>).PUBSUB_EMULATOR_HOST = 'localhost:8085';
      const problems = checkContract(copy, used, workflow).join('\n');
      expect(problems).toMatch(
        /function himas-orchestrator gets env var PUBSUB_EMULATOR_HOST, which is emulator-only .* must not be set by Terraform/,
      );
      expect(problems).toMatch(
        /job himas-train-h1-academic gets env var PUBSUB_EMULATOR_HOST, which is emulator-only/,
      );
    });

    it('an extra warehouse table', () => {
      const copy = cloneConfig(config);
      (copy.root.locals.warehouse_tables as Record<string, string>).scratch = 'orchestrator';
      expect(checkContract(copy, used, workflow).join('\n')).toMatch(
        /provisioned BigQuery table scratch is not a warehouse table of the code/,
      );
    });

    it('an extra env var', () => {
      const copy = cloneConfig(config);
      (copy.root.locals.stack_env as Record<string, string>).HIMAS_DEBUG_LEVEL = '3';
      expect(checkContract(copy, used, workflow).join('\n')).toMatch(
        /function himas-aggregate gets env var HIMAS_DEBUG_LEVEL, which the code does not read/,
      );
    });
  });
});
