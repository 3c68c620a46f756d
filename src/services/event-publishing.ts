import {
  EventSchemas,
  HimasEventSchema,
  SPEC_VERSION,
  TOPIC_OF,
  type EventOf,
  type EventType,
  type HimasEvent,
} from '../../schemas/events';
import type { Delivery, EventBus } from '../ports/event-bus';
import type { Logger } from '../logging/logger';
import { logs } from '../logs';

/** Builds a validated event envelope. `id` must be deterministic for the fact it announces. */
export function makeEvent<T extends EventType>(
  type: T,
  fields: { id: string; runId: string; round: number; time: Date; data: EventOf<T>['data'] },
): EventOf<T> {
  const event = {
    type,
    specVersion: SPEC_VERSION,
    id: fields.id,
    runId: fields.runId,
    round: fields.round,
    time: fields.time.toISOString(),
    data: fields.data,
  };
  return EventSchemas[type].parse(event) as EventOf<T>;
}

/** Publishes an event on its topic with `type` and `runId` attributes (for subscription filters). */
export async function publishEvent(bus: Pick<EventBus, 'publish'>, event: HimasEvent): Promise<string> {
  return bus.publish(TOPIC_OF[event.type], {
    data: JSON.stringify(event),
    attributes: { type: event.type, runId: event.runId, round: String(event.round), eventId: event.id },
  });
}

export type DecodedDelivery = { ok: true; event: HimasEvent } | { ok: false; reason: string };

/** Parses a delivery into an event; a malformed message yields a reason instead of throwing. */
export function decodeDelivery(delivery: Pick<Delivery, 'data'>): DecodedDelivery {
  let json: unknown;
  try {
    json = JSON.parse(delivery.data);
  } catch {
    return { ok: false, reason: `message is not JSON: ${delivery.data.slice(0, 80)}` };
  }
  const parsed = HimasEventSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `malformed event at '${issue.path.join('.')}': ${issue.message}` };
  }
  return { ok: true, event: parsed.data };
}

/**
 * The agents' entry: the decoded event, or null after logging why the message is poison (a
 * malformed message is acknowledged, never retried; the aggregator also audits it).
 */
export function decodeOrLogPoison(delivery: Pick<Delivery, 'data'>, logger: Logger): HimasEvent | null {
  const decoded = decodeDelivery(delivery);
  if (decoded.ok) return decoded.event;
  logs.poisonMessage(logger, decoded.reason);
  return null;
}
