import { HimasEventSchema } from '../../../schemas/events';
import type { DocumentStore } from '../../ports/document-store';
import type { EventBus } from '../../ports/event-bus';
import type { JobRunner } from '../../ports/job-runner';
import type { Coordinator } from '../../services/coordinator';
import { CallableError } from '../workflows';
import { toFirestoreDocument } from './firestore-rest-value';

/**
 * The Google Cloud calls federated-training.yaml makes, bound to a local stack so the very same
 * workflow file runs on a laptop: Pub/Sub publish → the stack's event bus, Cloud Run jobs.run →
 * the job runner, Firestore documents.get → the document store (in Firestore's REST shape), and
 * http.get/post to the coordinator URL → the coordinator in-process.
 */
export type ConnectorCall = (args: Record<string, unknown>) => Promise<unknown>;

/** An error shaped like the connectors' HttpError: a map with message, tags, code and body. */
function httpError(
  code: number,
  message: string,
  body: unknown = { error: { code, message } },
): CallableError {
  return new CallableError({ message, tags: ['HttpError'], code, body });
}

export interface StackConnectorDeps {
  documents: DocumentStore;
  events: EventBus;
  jobs: JobRunner;
  /**
   * The coordinator, called in-process for http.* to `coordinatorUrl`. Without it the stack serves
   * the coordinator over real HTTP (the emulator stack) and http.* is left to the caller.
   */
  coordinator?: Coordinator;
  coordinatorUrl: string;
  projectId: string;
  /** Attempts per job execution (the job's max_retries + 1). */
  jobAttempts?: number;
}

export function stackConnectors(deps: StackConnectorDeps): Record<string, ConnectorCall> {
  const http = (method: 'GET' | 'POST') => async (args: Record<string, unknown>) => {
    const url = String(args.url ?? '');
    if (!url.startsWith(deps.coordinatorUrl)) {
      throw httpError(
        400,
        `the local stack only serves the coordinator (${deps.coordinatorUrl}), not ${url}`,
      );
    }
    // As before every Firestore read: let the bus deliver what is in flight first, so the
    // coordinator answers from the state the agents and the aggregator have already reached (a
    // halt set on model.published is seen before the next round opens, deterministically).
    await deps.events.idle();
    const answer = await deps.coordinator!.handle({
      method,
      path: url.slice(deps.coordinatorUrl.length) || '/',
      body: args.body,
    });
    if (answer.status >= 400)
      throw httpError(answer.status, String(answer.body.error ?? `HTTP ${answer.status}`), answer.body);
    return { code: answer.status, headers: { 'content-type': 'application/json' }, body: answer.body };
  };

  return {
    ...(deps.coordinator ? { 'http.get': http('GET'), 'http.post': http('POST') } : {}),

    'googleapis.pubsub.v1.projects.topics.publish': async (args) => {
      const topic = resourceId(String(args.topic ?? ''), 'topics', 'topic');
      const messages = ((args.body as { messages?: unknown[] } | undefined)?.messages ?? []) as Array<{
        data?: string;
        attributes?: Record<string, string>;
      }>;
      const messageIds: string[] = [];
      for (const message of messages) {
        const data = Buffer.from(message.data ?? '', 'base64').toString('utf8');
        // Publishing a malformed HIMAS event from the workflow is a bug worth stopping for.
        const parsed = HimasEventSchema.safeParse(JSON.parse(data));
        if (!parsed.success)
          throw httpError(400, `workflow published a malformed event: ${parsed.error.issues[0]?.message}`);
        messageIds.push(await deps.events.publish(topic, { data, attributes: message.attributes ?? {} }));
      }
      return { messageIds };
    },

    'googleapis.run.v2.projects.locations.jobs.run': async (args) => {
      const name = String(args.name ?? '');
      const job = resourceId(name, 'jobs', 'job name');
      const body = (args.body ?? {}) as {
        overrides?: { containerOverrides?: Array<{ env?: Array<{ name: string; value: string }> }> };
      };
      const env: Record<string, string> = {};
      for (const override of body.overrides?.containerOverrides ?? []) {
        for (const variable of override.env ?? []) env[variable.name] = String(variable.value);
      }
      const result = await deps.jobs.run({ jobName: job, env, maxAttempts: deps.jobAttempts ?? 2 });
      if (result.status === 'failed') {
        // The blocking connector raises when the execution's operation fails.
        throw new CallableError({
          message: `execution ${result.executionId} of ${job} failed: ${result.error}`,
          tags: ['OperationError'],
          operation: {
            name: `${name}/executions/${result.executionId}`,
            error: { message: result.error ?? 'failed' },
          },
        });
      }
      return {
        name: `${name}/executions/${result.executionId}`,
        succeededCount: 1,
        failedCount: 0,
        retriedCount: result.attempts - 1,
        completionTime: new Date().toISOString(),
      };
    },

    'googleapis.firestore.v1.projects.databases.documents.get': async (args) => {
      const name = String(args.name ?? '');
      const marker = '/documents/';
      const at = name.indexOf(marker);
      if (!name.startsWith(`projects/${deps.projectId}/databases/`) || at < 0) {
        throw httpError(400, `not a document name of project ${deps.projectId}: ${name}`);
      }
      // Updates published just before may still be in flight; let the bus deliver them first so a
      // poll sees what the aggregator has done (in the cloud the workflow's polling absorbs this).
      await deps.events.idle();
      const data = await deps.documents.get(name.slice(at + marker.length));
      if (!data) throw httpError(404, `Document "${name}" not found.`);
      return toFirestoreDocument(name, data, new Date());
    },
  };
}

/** `projects/p/topics/t` → `t`, with a clear error for anything else. */
function resourceId(name: string, collection: string, what: string): string {
  const parts = name.split('/');
  const index = parts.lastIndexOf(collection);
  if (index < 0 || index !== parts.length - 2 || !parts[index + 1])
    throw httpError(400, `bad ${what}: '${name}'`);
  return parts[index + 1];
}
