import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { validateWorkflowSource } from '../../../src/local/workflows';

const DIR = path.resolve(__dirname, '..', '..', '..', 'workflows');

/** Every deployable workflow passes the official JSON schema and the engine's deploy-time checks. */
describe('workflows/*.yaml', () => {
  const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));

  it('has the training workflow', () => {
    expect(files).toContain('federated-training.yaml');
  });

  it.each(files)('%s validates', (file) => {
    expect(validateWorkflowSource(readFileSync(path.join(DIR, file), 'utf8'), file)).toEqual([]);
  });

  it('reads project, region, topics and job names from the environment, never literals', () => {
    const source = readFileSync(path.join(DIR, 'federated-training.yaml'), 'utf8');
    expect(source).not.toMatch(/projects\/[a-z][a-z0-9-]{4,}\//); // no hard-coded project id
    expect(source).not.toMatch(/himas-(rounds|updates|models|train-)/);
    for (const name of ['HIMAS_REGION', 'HIMAS_COORDINATOR_URL', 'HIMAS_TOPIC_ROUNDS', 'HIMAS_JOB_PREFIX']) {
      expect(source).toContain(`sys.get_env("${name}")`);
    }
  });
});
