import { deadLetterHoldSubscription, TOPICS } from '../../schemas/events';
import type { EventBus } from '../ports/event-bus';
import type { HeldMessage, MessageHold } from '../ports/message-hold';

/**
 * Dead letters are messages a function gave up on after its subscription's last attempt (an
 * aggregator unreachable for longer than its retry window, say). Each topic's dead-letter topic has
 * a hold subscription that keeps them; replay publishes each, unchanged, to the topic it came
 * from, so every subscriber of that topic sees it again, verified as the first time. Replay is
 * idempotent: every handler already is (a replayed update whose receipt exists is a duplicate,
 * counted once), and a message is acknowledged on the hold only after it was published again, so a
 * crash in between replays it twice, harmlessly, never zero times.
 */
export interface DeadLetter {
  /** The topic it was published to, and is replayed to (e.g. himas-updates). */
  topic: string;
  /** The subscription that gave up on it (deadLetterSource), when the hold says. */
  source: string | null;
  /** The HIMAS event it carries, when it is one (a poison message is listed, and replayed as is). */
  event: { type: string; id: string; runId: string; round: number } | null;
  deadLetteredAt: string;
  held: HeldMessage;
}

export interface DeadLetterFilter {
  /** One source topic (himas-updates); default every HIMAS topic. */
  topic?: string;
  runId?: string;
}

export const DEAD_LETTER_TOPICS: readonly string[] = Object.values(TOPICS);

/** Every held dead letter matching the filter, oldest first; none is consumed. */
export async function listDeadLetters(
  hold: MessageHold,
  filter: DeadLetterFilter = {},
): Promise<DeadLetter[]> {
  const found: DeadLetter[] = [];
  for (const topic of topicsOf(filter)) {
    const subscription = deadLetterHoldSubscription(topic);
    const held = await hold.pull(subscription);
    await hold.release(
      subscription,
      held.map((m) => m.ackId),
    );
    found.push(...held.map((m) => deadLetterOf(topic, m)).filter((d) => matches(d, filter)));
  }
  return found;
}

export interface ReplayOutcome {
  /** Dead letters published again (one per distinct message and topic). */
  replayed: DeadLetter[];
  /** Copies of a replayed message that other subscriptions of its topic gave up on too: acknowledged, not published twice. */
  copies: number;
}

/**
 * Publishes every matching dead letter to its topic again, then acknowledges it on its hold. The
 * same message dead-lettered by two subscriptions of one topic is held twice and published once:
 * one publish reaches every subscription of the topic.
 */
export async function replayDeadLetters(
  hold: MessageHold,
  events: EventBus,
  filter: DeadLetterFilter = {},
): Promise<ReplayOutcome> {
  const replayed: DeadLetter[] = [];
  let copies = 0;
  for (const topic of topicsOf(filter)) {
    const subscription = deadLetterHoldSubscription(topic);
    const held = await hold.pull(subscription);
    const letters = held.map((m) => deadLetterOf(topic, m));
    const chosen = letters.filter((d) => matches(d, filter));
    await hold.release(
      subscription,
      letters.filter((d) => !matches(d, filter)).map((d) => d.held.ackId),
    );
    const published = new Set<string>();
    for (const letter of chosen) {
      const key = letter.held.data;
      if (published.has(key)) {
        copies++;
      } else {
        await events.publish(topic, { data: letter.held.data, attributes: replayAttributes(letter) });
        published.add(key);
        replayed.push(letter);
      }
      // After its publish: a crash before this line replays it again next time (idempotent).
      await hold.acknowledge(subscription, [letter.held.ackId]);
    }
  }
  return { replayed, copies };
}

/** `himas-updates` or `updates` → `himas-updates`; undefined for a topic HIMAS does not have. */
export function sourceTopicNamed(text: string): string | undefined {
  const name = text.startsWith('himas-') ? text : `himas-${text}`;
  return DEAD_LETTER_TOPICS.includes(name) ? name : undefined;
}

function topicsOf(filter: DeadLetterFilter): readonly string[] {
  if (filter.topic === undefined) return DEAD_LETTER_TOPICS;
  const topic = sourceTopicNamed(filter.topic);
  if (topic === undefined)
    throw new Error(`no HIMAS topic '${filter.topic}'; the topics are ${DEAD_LETTER_TOPICS.join(', ')}`);
  return [topic];
}

function deadLetterOf(topic: string, held: HeldMessage): DeadLetter {
  return {
    topic,
    source: held.attributes.deadLetterSource ?? null,
    event: envelopeOf(held.data),
    deadLetteredAt: held.publishTime,
    held,
  };
}

function matches(letter: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.runId === undefined) return true;
  return (letter.event?.runId ?? letter.held.attributes.runId) === filter.runId;
}

/** The envelope's identity, read leniently: a dead letter may be exactly the malformed message. */
function envelopeOf(data: string): DeadLetter['event'] {
  try {
    const parsed = JSON.parse(data) as Record<string, unknown>;
    const { type, id, runId, round } = parsed;
    if (typeof type !== 'string' || typeof id !== 'string' || typeof runId !== 'string') return null;
    return { type, id, runId, round: typeof round === 'number' ? round : 0 };
  } catch {
    return null;
  }
}

/** The original attributes (type, runId, ...) without the dead-lettering's own, marked as a replay. */
function replayAttributes(letter: DeadLetter): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(letter.held.attributes))
    if (name !== 'deadLetterSource' && !name.startsWith('CloudPubSubDeadLetter')) attributes[name] = value;
  attributes.replayedFrom = deadLetterHoldSubscription(letter.topic);
  return attributes;
}
