import type { WorkflowExecutions } from '../adapters/gcp/workflow-executions';
import type { DocumentStore } from '../ports/document-store';
import type { ModelRegistry } from '../ports/model-registry';
import { stringFlag } from './args';
import { UserError } from './user-error';

/**
 * Where `--stack gcp` points: the deployed project's Firestore (runs, rounds, receipts, model
 * versions), its artifacts bucket (the model weights) and its training workflow. Names follow
 * terraform/: bucket `<project>-himas-artifacts`, workflow `himas-training` (outputs `bucket` and
 * `workflow`). Credentials are Application Default Credentials (`gcloud auth application-default login`).
 */
export interface CloudTarget {
  projectId: string;
  region: string;
  workflow: string;
  bucket: string;
}

/** The flags a `--stack gcp` command takes. */
export const CLOUD_FLAGS = {
  project: { type: 'string' },
  region: { type: 'string' },
  workflow: { type: 'string' },
  bucket: { type: 'string' },
} as const;

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const REGION = /^[a-z]+-[a-z]+\d+$/;

export function cloudTarget(values: Record<string, unknown>, command: string): CloudTarget {
  const projectId = stringFlag(values, 'project') ?? process.env.GOOGLE_CLOUD_PROJECT;
  if (!projectId)
    throw new UserError(
      `\`himas ${command} --stack gcp\` needs --project PROJECT (the project HIMAS is deployed in), or GOOGLE_CLOUD_PROJECT`,
    );
  if (!PROJECT_ID.test(projectId))
    throw new UserError(
      `--project '${projectId}' is not a project id (6 to 30 of a-z, 0-9 and -, starting with a letter)`,
    );
  const region = stringFlag(values, 'region');
  if (!region)
    throw new UserError(
      `\`himas ${command} --stack gcp\` needs --region REGION (terraform var.region, e.g. europe-west4)`,
    );
  if (!REGION.test(region)) throw new UserError(`--region '${region}' is not a region (e.g. europe-west4)`);
  return {
    projectId,
    region,
    workflow: stringFlag(values, 'workflow') ?? 'himas-training',
    bucket: stringFlag(values, 'bucket') ?? `${projectId}-himas-artifacts`,
  };
}

/** The flags that name the target again, for hints such as `himas train <these> --resume RUN`. */
export const cloudFlagsText = (t: CloudTarget): string =>
  `--stack gcp --project ${t.projectId} --region ${t.region}`;

export interface CloudReader {
  documents: DocumentStore;
  models: ModelRegistry;
  close(): Promise<void>;
}

/** Firestore and the artifacts bucket of the project, through the adapters the functions use. */
export function openCloudReader(target: CloudTarget): CloudReader {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { openGcpStack } = require('../adapters/gcp') as typeof import('../adapters/gcp');
  const { DocumentModelRegistry } =
    require('../adapters/model-registry/document-model-registry') as typeof import('../adapters/model-registry/document-model-registry');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const stack = openGcpStack({
    projectId: target.projectId,
    bucket: target.bucket,
    events: { createResources: false },
  });
  return {
    documents: stack.documents,
    models: new DocumentModelRegistry(stack.documents, stack.blobs!),
    close: () => stack.close(),
  };
}

/** The Executions API client for the target's workflow (@google-cloud/workflows, loaded lazily). */
export function openWorkflowExecutions(target: CloudTarget): {
  executions: WorkflowExecutions;
  close(): Promise<void>;
} {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { ExecutionsClient } = require('@google-cloud/workflows') as typeof import('@google-cloud/workflows');
  const { WorkflowExecutions } =
    require('../adapters/gcp/workflow-executions') as typeof import('../adapters/gcp/workflow-executions');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const client = new ExecutionsClient({ projectId: target.projectId });
  return {
    executions: new WorkflowExecutions(client, target),
    close: () => client.close(),
  };
}
