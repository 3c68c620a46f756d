import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { deadLetterHoldSubscription, deadLetterTopic } from '../../../schemas/events';
import type { EventBus } from '../../ports/event-bus';
import type { MessageHold } from '../../ports/message-hold';
import {
  DEAD_LETTER_TOPICS,
  listDeadLetters,
  replayDeadLetters,
  sourceTopicNamed,
  type DeadLetter,
  type DeadLetterFilter,
} from '../../services/dead-letter-replay';
import { parseCommandArgs, stringFlag } from '../args';
import { CLOUD_FLAGS } from '../cloud-target';
import { exitCode } from '../exit-codes';
import type { Command } from '../main';
import { defaultHome } from '../run-locations';
import { UserError } from '../user-error';

const HELP = `Usage:
  himas deadletter list   [--topic T] [--run RUN_ID] [--json] [--stack embedded|emulators|gcp] [--home DIR] [--project P]
  himas deadletter replay [--topic T] [--run RUN_ID] [--json] [--stack embedded|emulators|gcp] [--home DIR] [--project P]

A message a function gave up on (its subscription's last delivery attempt failed: an aggregator
unreachable for longer than its retry window, say) goes to its topic's dead-letter topic and waits
on that topic's hold subscription (<topic>-dead-letter-hold) for an operator.

list    prints the held dead letters, oldest first: topic, the subscription that gave up, the
        event (type, run, round, id) and when it was dead-lettered. Nothing is consumed.
replay  publishes each one, unchanged, to the topic it came from, then removes it from the hold.
        Every handler verifies it as the first time and is idempotent, so replaying twice
        counts nothing twice. A round short of its quorum at the deadline waits one more
        deadline period for updates that were sent but never arrived: replay within it.

--topic T    one source topic: ${DEAD_LETTER_TOPICS.join(', ')} (or without the himas- prefix)
--run R      only dead letters of that run
--stack      embedded (default; the store in --home, not while a \`himas train\` holds it), emulators
             (the stack recorded in <home>/stack.json), gcp (--project, Application Default Credentials)`;

export const deadletterCommand: Command = {
  summary: 'list or replay dead-lettered messages (himas deadletter list|replay)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'deadletter',
      argv,
      {
        topic: { type: 'string' },
        run: { type: 'string' },
        json: { type: 'boolean' },
        stack: { type: 'string' },
        home: { type: 'string' },
        project: CLOUD_FLAGS.project,
        help: { type: 'boolean', short: 'h' },
      },
      true,
    );
    if (values.help || positionals.length === 0) {
      process.stdout.write(`${HELP}\n`);
      return values.help ? 0 : exitCode('usage');
    }
    const [verb, ...rest] = positionals;
    if (verb !== 'list' && verb !== 'replay')
      throw new UserError(`unknown deadletter verb '${verb}'; use list or replay`);
    if (rest.length > 0)
      throw new UserError(`unexpected argument '${rest[0]}' for \`himas deadletter ${verb}\``);
    const filter: DeadLetterFilter = { runId: stringFlag(values, 'run') };
    const topic = stringFlag(values, 'topic');
    if (topic !== undefined) {
      if (sourceTopicNamed(topic) === undefined)
        throw new UserError(
          `--topic '${topic}' is not a HIMAS topic; use one of ${DEAD_LETTER_TOPICS.join(', ')}`,
        );
      filter.topic = topic;
    }
    const home = path.resolve(stringFlag(values, 'home') ?? defaultHome());
    const access = await openDeadLetters(stringFlag(values, 'stack') ?? 'embedded', home, values);
    try {
      if (verb === 'list') {
        const letters = await listDeadLetters(access.hold, filter);
        if (values.json) process.stdout.write(`${JSON.stringify(letters.map(summary), null, 2)}\n`);
        else printList(letters, filter);
        return exitCode('ok');
      }
      const outcome = await replayDeadLetters(access.hold, access.events, filter);
      if (values.json)
        process.stdout.write(
          `${JSON.stringify({ replayed: outcome.replayed.map(summary), copies: outcome.copies }, null, 2)}\n`,
        );
      else if (outcome.replayed.length === 0)
        process.stdout.write(`nothing to replay${describeFilter(filter)}\n`);
      else {
        for (const letter of outcome.replayed) process.stdout.write(`replayed ${line(letter)}\n`);
        process.stdout.write(
          `${outcome.replayed.length} replayed${outcome.copies > 0 ? ` (${outcome.copies} copies held by other subscriptions of the same topic acknowledged)` : ''}; ${access.next}\n`,
        );
      }
      return exitCode('ok');
    } finally {
      await access.close();
    }
  },
};

interface DeadLetterAccess {
  hold: MessageHold;
  events: EventBus;
  /** What makes the replayed messages arrive. */
  next: string;
  close(): Promise<void>;
}

async function openDeadLetters(
  stack: string,
  home: string,
  values: Record<string, unknown>,
): Promise<DeadLetterAccess> {
  if (stack === 'embedded') return openEmbeddedDeadLetters(home);
  if (stack !== 'emulators' && stack !== 'gcp')
    throw new UserError(`--stack '${stack}' must be embedded, emulators or gcp`);
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { PubSub } = require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
  const { PubSubEventBus } =
    require('../../adapters/gcp/pubsub-event-bus') as typeof import('../../adapters/gcp/pubsub-event-bus');
  const { PubSubMessageHold } =
    require('../../adapters/gcp/pubsub-message-hold') as typeof import('../../adapters/gcp/pubsub-message-hold');
  const { readStackState, stackStatePath } =
    require('../../local/stack/stack-control') as typeof import('../../local/stack/stack-control');
  /* eslint-enable @typescript-eslint/no-require-imports */
  let pubsub: InstanceType<typeof PubSub>;
  if (stack === 'emulators') {
    const state = readStackState(home);
    if (!state)
      throw new UserError(
        `no emulator stack recorded in ${stackStatePath(home)}; \`himas stack up\` first (or pass --home DIR)`,
      );
    pubsub = new PubSub({
      projectId: state.projectId,
      apiEndpoint: state.pubsubEmulatorHost,
      emulatorMode: true,
      universeDomain: 'googleapis.com',
    });
  } else {
    const projectId = stringFlag(values, 'project') ?? process.env.GOOGLE_CLOUD_PROJECT;
    if (!projectId)
      throw new UserError('`himas deadletter --stack gcp` needs --project PROJECT, or GOOGLE_CLOUD_PROJECT');
    pubsub = new PubSub({ projectId });
  }
  const hold = new PubSubMessageHold(pubsub);
  // Terraform owns the topics: publish only, never create.
  const events = new PubSubEventBus(pubsub, { createResources: false, emulator: stack === 'emulators' });
  return {
    hold: await checkedHold(hold),
    events,
    next: 'the aggregation and agent functions receive them now',
    close: async () => {
      await events.close();
      await hold.close();
      await pubsub.close();
    },
  };
}

/** A hold subscription that does not exist is a stack set up before holds existed: say how to fix it. */
async function checkedHold(hold: MessageHold): Promise<MessageHold> {
  const wrap =
    <A extends unknown[], R>(fn: (subscription: string, ...rest: A) => Promise<R>) =>
    async (subscription: string, ...rest: A): Promise<R> => {
      try {
        return await fn(subscription, ...rest);
      } catch (error) {
        if ((error as { code?: number }).code === 5)
          throw new UserError(
            `hold subscription ${subscription} does not exist: \`terraform apply\` (cloud) or \`himas stack down && himas stack up\` (emulators) creates it`,
            exitCode('error'),
          );
        throw error;
      }
    };
  return {
    pull: wrap((s) => hold.pull(s)),
    acknowledge: wrap((s, ids: string[]) => hold.acknowledge(s, ids)),
    release: wrap((s, ids: string[]) => hold.release(s, ids)),
  };
}

async function openEmbeddedDeadLetters(home: string): Promise<DeadLetterAccess> {
  if (!existsSync(path.join(home, 'himas.duckdb')))
    throw new UserError(`no HIMAS store in ${home} yet; run \`himas train\` first (or pass --home DIR)`);
  const { openEmbeddedStack } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../../adapters/embedded') as typeof import('../../adapters/embedded');
  let stack;
  try {
    stack = await openEmbeddedStack(home);
  } catch (error) {
    if ((error as Error).name !== 'StoreInUseError') throw error;
    throw new UserError(
      `the store in ${home} is held by a running \`himas train\`: stop it (Ctrl-C; nothing accepted is lost), replay, then \`himas train --resume RUN_ID\``,
      exitCode('busy'),
    );
  }
  // Holds exist from the first `himas train` of this store; one made before them holds nothing.
  for (const topic of DEAD_LETTER_TOPICS)
    await stack.events.createSubscription({
      name: deadLetterHoldSubscription(topic),
      topic: deadLetterTopic(topic),
    });
  return {
    hold: stack.events,
    events: stack.events,
    next: 'they are delivered when the store next runs: `himas train --resume RUN_ID`',
    close: () => stack.close(),
  };
}

function summary(letter: DeadLetter) {
  return {
    topic: letter.topic,
    source: letter.source,
    type: letter.event?.type ?? null,
    runId: letter.event?.runId ?? letter.held.attributes.runId ?? null,
    round: letter.event?.round ?? null,
    eventId: letter.event?.id ?? null,
    deadLetteredAt: letter.deadLetteredAt,
  };
}

function line(letter: DeadLetter): string {
  const s = summary(letter);
  const what = s.type === null ? 'an unreadable message (not a HIMAS event)' : `${s.type} ${s.eventId}`;
  return `${s.topic}  ${what}  (given up by ${s.source ?? 'an unknown subscription'}, ${s.deadLetteredAt})`;
}

function printList(letters: DeadLetter[], filter: DeadLetterFilter): void {
  if (letters.length === 0) {
    process.stdout.write(`no dead letters${describeFilter(filter)}\n`);
    return;
  }
  for (const letter of letters) process.stdout.write(`${line(letter)}\n`);
  process.stdout.write(
    `${letters.length} dead letter(s); \`himas deadletter replay${filter.runId ? ` --run ${filter.runId}` : ''}\` publishes them again\n`,
  );
}

function describeFilter(filter: DeadLetterFilter): string {
  const parts = [
    filter.topic && `on ${sourceTopicNamed(filter.topic)}`,
    filter.runId && `of run ${filter.runId}`,
  ];
  const text = parts.filter(Boolean).join(' ');
  return text ? ` ${text}` : '';
}
