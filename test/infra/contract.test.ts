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
    expect(used.functions.map((f) => f.entryPoint).sort()).toEqual(['aggregate', 'coordinator']);
    expect(used.jobPrefix).toBe('himas-train-');
    expect(used.collections).toEqual([
      'audit',
      'evaluations',
      'hospitals',
      'models',
      'rounds',
      'runs',
      'statistics',
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

    it('an extra env var', () => {
      const copy = cloneConfig(config);
      (copy.root.locals.stack_env as Record<string, string>).HIMAS_DEBUG_LEVEL = '3';
      expect(checkContract(copy, used, workflow).join('\n')).toMatch(
        /function himas-aggregate gets env var HIMAS_DEBUG_LEVEL, which the code does not read/,
      );
    });
  });
});
