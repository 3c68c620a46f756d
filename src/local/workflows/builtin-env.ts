import { randomUUID } from 'node:crypto';
import * as path from 'node:path';

/**
 * Local values of the built-in environment variables every execution has in the cloud
 * (https://cloud.google.com/workflows/docs/reference/environment-variables). They are placeholders
 * that look like the real thing, so a workflow that builds resource names from them runs locally;
 * `--env NAME=VALUE` (or the engine's `env` option) overrides any of them.
 */
export const LOCAL_BUILTIN_ENV = {
  GOOGLE_CLOUD_PROJECT_ID: 'local-project',
  GOOGLE_CLOUD_PROJECT_NUMBER: '000000000000',
  GOOGLE_CLOUD_LOCATION: 'us-central1',
  GOOGLE_CLOUD_SERVICE_ACCOUNT_NAME: 'local-workflows@local-project.iam.gserviceaccount.com',
  /** Replaced by the workflow file's name (federated-training.yaml -> federated-training). */
  GOOGLE_CLOUD_WORKFLOW_ID: 'local-workflow',
  GOOGLE_CLOUD_WORKFLOW_REVISION_ID: '000001-loc',
  /** Replaced by a fresh UUID for every execution. */
  GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID: '00000000-0000-0000-0000-000000000000',
} as const;

/** A workflow id from a file name: the name without `.workflows.yaml`, `.yaml`, `.json`... */
function workflowId(file: string | undefined): string {
  const base = path.basename(file ?? '').replace(/(\.workflows)?\.(ya?ml|json)$/i, '');
  const id = base.replace(/[^A-Za-z0-9_-]/g, '-').replace(/^-+|-+$/g, '');
  return id || LOCAL_BUILTIN_ENV.GOOGLE_CLOUD_WORKFLOW_ID;
}

/** The environment an execution sees: the built-in defaults, then what the caller set. */
export function builtinEnvironment(
  file: string | undefined,
  overrides: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return {
    ...LOCAL_BUILTIN_ENV,
    GOOGLE_CLOUD_WORKFLOW_ID: workflowId(file),
    GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID: randomUUID(),
    ...defined,
  };
}
