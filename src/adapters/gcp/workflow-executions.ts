import { googleErrorMessage, grpcCodeOf, GrpcStatus } from './grpc-status';

/**
 * Executions of the deployed training workflow through the Workflows Executions API
 * (`ExecutionsClient` of @google-cloud/workflows v1): start one with the run's argument, and read
 * its state until it ends. What `gcloud workflows run` does, for `himas train --stack gcp`; the run
 * itself is followed in Firestore, where the coordinator and the aggregator write it.
 */
export type ExecutionState = 'ACTIVE' | 'QUEUED' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'UNAVAILABLE';

/** Executions API enum numbers (google.cloud.workflows.executions.v1.Execution.State). */
const STATE_BY_NUMBER: Record<number, ExecutionState> = {
  1: 'ACTIVE',
  2: 'SUCCEEDED',
  3: 'FAILED',
  4: 'CANCELLED',
  5: 'UNAVAILABLE',
  6: 'QUEUED',
};

/** The fields of an Execution this adapter reads, as the client decodes them. */
export interface WorkflowExecutionMessage {
  name?: string | null;
  state?: string | number | null;
  argument?: string | null;
  result?: string | null;
  error?: { payload?: string | null; context?: string | null } | null;
}

/** The part of `ExecutionsClient` (@google-cloud/workflows v1) this adapter calls. */
export interface ExecutionsService {
  createExecution(request: {
    parent: string;
    execution: { argument: string };
  }): Promise<[WorkflowExecutionMessage, ...unknown[]]>;
  getExecution(request: { name: string }): Promise<[WorkflowExecutionMessage, ...unknown[]]>;
  listExecutions(request: {
    parent: string;
    filter: string;
    view: 'FULL';
  }): Promise<[WorkflowExecutionMessage[], ...unknown[]]>;
}

export interface WorkflowExecution {
  /** projects/<p>/locations/<r>/workflows/<w>/executions/<id> */
  name: string;
  state: ExecutionState;
  /** The workflow's return value (SUCCEEDED). */
  result?: unknown;
  /** Why it ended early (FAILED, CANCELLED): the workflow error's message, else its payload. */
  error?: string;
}

export interface WorkflowTarget {
  projectId: string;
  region: string;
  /** The deployed workflow's name (Terraform output `workflow`, himas-training). */
  workflow: string;
}

/** gRPC UNAUTHENTICATED: no or expired credentials. */
const UNAUTHENTICATED = 16;

export class WorkflowExecutionError extends Error {}

export class WorkflowExecutions {
  constructor(
    private readonly client: ExecutionsService,
    private readonly target: WorkflowTarget,
  ) {}

  get workflowName(): string {
    const { projectId, region, workflow } = this.target;
    return `projects/${projectId}/locations/${region}/workflows/${workflow}`;
  }

  /** Starts an execution with `argument` (the workflow's `args`); answers as soon as it is created. */
  async start(argument: Record<string, unknown>): Promise<WorkflowExecution> {
    try {
      const [execution] = await this.client.createExecution({
        parent: this.workflowName,
        execution: { argument: JSON.stringify(argument) },
      });
      return decode(execution);
    } catch (error) {
      throw this.explain(error, 'start an execution of');
    }
  }

  async get(name: string): Promise<WorkflowExecution> {
    try {
      const [execution] = await this.client.getExecution({ name });
      return decode(execution);
    } catch (error) {
      throw this.explain(error, `read execution ${name} of`);
    }
  }

  /**
   * The execution still running for `runId`, if any: two executions driving one run would run
   * every hospital's jobs twice (and charge their ledgers twice), so a resume follows it instead.
   */
  async activeFor(runId: string): Promise<WorkflowExecution | undefined> {
    let listed: WorkflowExecutionMessage[];
    try {
      [listed] = await this.client.listExecutions({
        parent: this.workflowName,
        filter: 'state="ACTIVE"',
        view: 'FULL', // the argument is only in the FULL view
      });
    } catch (error) {
      throw this.explain(error, 'list the running executions of');
    }
    const running = listed.find((e) => {
      const argument = parseJson(e.argument ?? '');
      return (
        typeof argument === 'object' && argument !== null && (argument as { runId?: unknown }).runId === runId
      );
    });
    return running ? decode(running) : undefined;
  }

  private explain(error: unknown, action: string): Error {
    const code = grpcCodeOf(error);
    const where = `${this.workflowName}`;
    const hint =
      code === GrpcStatus.NOT_FOUND
        ? `: is HIMAS deployed in project ${this.target.projectId}, region ${this.target.region}? (\`terraform -chdir=terraform output workflow\`)`
        : code === GrpcStatus.PERMISSION_DENIED || code === UNAUTHENTICATED
          ? ': your account needs roles/workflows.invoker (start) and roles/workflows.viewer (read) on the project; `gcloud auth application-default login` sets the credentials'
          : '';
    return new WorkflowExecutionError(`cannot ${action} ${where}: ${googleErrorMessage(error)}${hint}`);
  }
}

export const isFinished = (state: ExecutionState): boolean => state !== 'ACTIVE' && state !== 'QUEUED';

function decode(message: WorkflowExecutionMessage): WorkflowExecution {
  const raw = message.state;
  const state = typeof raw === 'number' ? STATE_BY_NUMBER[raw] : (raw as ExecutionState | undefined);
  if (!message.name || !state || !(Object.values(STATE_BY_NUMBER) as string[]).includes(state))
    throw new WorkflowExecutionError(
      `the Executions API answered an execution without a name or a known state (${JSON.stringify(message)})`,
    );
  const execution: WorkflowExecution = { name: message.name, state };
  if (message.result) execution.result = parseJson(message.result);
  if (message.error) execution.error = errorText(message.error);
  return execution;
}

/** Workflows puts the raised error (a map with `message`, `tags`, ...) in payload as JSON text. */
function errorText(error: NonNullable<WorkflowExecutionMessage['error']>): string {
  const payload = parseJson(error.payload ?? '');
  const message =
    payload && typeof payload === 'object' && typeof (payload as { message?: unknown }).message === 'string'
      ? (payload as { message: string }).message
      : (error.payload ?? 'no error payload');
  return error.context ? `${message} (${error.context.split('\n')[0]})` : message;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
