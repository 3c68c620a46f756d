/**
 * A loopback HTTP relay between a Pub/Sub push subscription and the function it pushes to, for
 * fault injection on the emulator stack. Each push is forwarded unchanged (same path, headers and
 * body: functions-framework turns it into the same CloudEvent); then `decide` chooses what Pub/Sub
 * hears back. Answering 503 after the function succeeded is a lost ack: Pub/Sub redelivers the same
 * message (same message id, data and attributes) after its retry backoff, exactly as it does when
 * a function instance dies between committing its work and acknowledging.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { PubSub } from '@google-cloud/pubsub';
import { AGGREGATOR_SUBSCRIPTIONS } from '../../src/local/embedded-platform';
import { findFreePort } from '../../src/local/emulators';
import type { StackState } from '../../src/local/stack/stack-control';

export interface PushedMessage {
  messageId: string;
  attributes: Record<string, string>;
  /** The HIMAS envelope the message carries, when its data parses as one. */
  event:
    { id: string; type: string; runId: string; round: number; hospitalId: string | undefined } | undefined;
}

export interface RelayedDelivery extends PushedMessage {
  /** HTTP status the function answered; 0 when it could not be reached (down, or killed mid-request). */
  functionStatus: number;
  /** What Pub/Sub was told. */
  answeredStatus: number;
  /** When the push arrived and when it was answered (ms since the epoch). */
  receivedAt: number;
  answeredAt: number;
}

export interface PushRelay {
  /** `http://127.0.0.1:PORT`: push endpoints go to `${url}${path}`. */
  url: string;
  deliveries: RelayedDelivery[];
  close(): Promise<void>;
}

export type RelayDecision = (message: PushedMessage, functionStatus: number) => number | Promise<number>;

export async function startPushRelay(options: {
  target: string;
  decide: RelayDecision;
  /**
   * Awaited before each forward: while a function instance is being replaced, a request waits for
   * the new one, as Cloud Functions holds requests during a cold start instead of refusing them.
   */
  ready?: () => Promise<unknown>;
  /**
   * True for a push that is lost before it reaches the function: it is not forwarded and Pub/Sub
   * hears 503, so it redelivers the message later (a delivery dropped in transit).
   */
  drop?: (message: PushedMessage) => boolean;
}): Promise<PushRelay> {
  const deliveries: RelayedDelivery[] = [];
  const port = await findFreePort();
  const server: Server = createServer((request, response) => {
    void relay(request).then(
      (status) => {
        response.statusCode = status;
        response.end();
      },
      (error: unknown) => {
        response.statusCode = 500;
        response.end(String(error));
      },
    );
  });

  async function relay(request: IncomingMessage): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const receivedAt = Date.now();
    const message = parsePush(body);
    let functionStatus = 0;
    if (options.drop?.(message)) {
      deliveries.push({
        ...message,
        functionStatus,
        answeredStatus: 503,
        receivedAt,
        answeredAt: Date.now(),
      });
      return 503;
    }
    await options.ready?.();
    try {
      const answer = await fetch(`${options.target}${request.url ?? '/'}`, {
        method: request.method,
        headers: { 'content-type': request.headers['content-type'] ?? 'application/json' },
        body,
      });
      await answer.arrayBuffer();
      functionStatus = answer.status;
    } catch {
      // Connection refused or reset: the function instance is down.
    }
    const answeredStatus = functionStatus === 0 ? 503 : await options.decide(message, functionStatus);
    deliveries.push({ ...message, functionStatus, answeredStatus, receivedAt, answeredAt: Date.now() });
    return answeredStatus;
  }

  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Points the aggregator's push subscriptions at the relay, with the paths they had. */
export async function pushAggregatorThrough(state: StackState, relayUrl: string): Promise<void> {
  const pubsub = new PubSub({
    projectId: state.projectId,
    apiEndpoint: state.pubsubEmulatorHost,
    emulatorMode: true,
    universeDomain: 'googleapis.com',
  });
  try {
    for (const subscription of AGGREGATOR_SUBSCRIPTIONS)
      await pubsub.subscription(subscription.name).modifyPushConfig({
        pushEndpoint: `${relayUrl}/projects/${state.projectId}/topics/${subscription.topic}`,
      });
  } finally {
    await pubsub.close();
  }
}

function parsePush(body: Buffer): PushedMessage {
  const push = JSON.parse(body.toString('utf8')) as {
    message: { messageId?: string; message_id?: string; data?: string; attributes?: Record<string, string> };
  };
  const { message } = push;
  let event: PushedMessage['event'];
  try {
    const parsed = JSON.parse(Buffer.from(message.data ?? '', 'base64').toString('utf8')) as Record<
      string,
      unknown
    >;
    const data = parsed.data as Record<string, unknown> | undefined;
    if (typeof parsed.id === 'string' && typeof parsed.type === 'string')
      event = {
        id: parsed.id,
        type: parsed.type,
        runId: String(parsed.runId),
        round: Number(parsed.round),
        hospitalId: typeof data?.hospitalId === 'string' ? data.hospitalId : undefined,
      };
  } catch {
    event = undefined;
  }
  return {
    messageId: message.messageId ?? message.message_id ?? '',
    attributes: message.attributes ?? {},
    event,
  };
}
