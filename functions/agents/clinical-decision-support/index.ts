import * as functions from '@google-cloud/functions-framework';
import { clinicalSupportFromStack } from '../../../src/runtime/stack-services';
import type { ClinicalSupportAgent } from '../../../src/services/clinical-support-agent';
import {
  deliveryFromMessagePublished,
  type MessagePublishedData,
} from '../../../src/services/pubsub-message';

/**
 * The clinical decision-support HTTP function. Thin by design (STYLE.md habit 1): `POST /predict`
 * with one stay's JSON answers with risk, band, flags, top features, model version, privacy
 * guarantee and narrative (400 with zod issues, 503 when no model is servable); the himas-models
 * push subscription posts `model.published` here too (a Pub/Sub push body has `message`), which
 * reloads the model. The logic is in src/services/clinical-support-agent.ts.
 */
export function clinicalDecisionSupportReload(getAgent: () => Promise<ClinicalSupportAgent>) {
  return async (event: { data?: MessagePublishedData }): Promise<void> => {
    const delivery = deliveryFromMessagePublished(event.data);
    if (delivery.attributes.type !== undefined && delivery.attributes.type !== 'model.published') return;
    await (await getAgent()).handle(delivery);
  };
}

export function clinicalDecisionSupportHandler(getAgent: () => Promise<ClinicalSupportAgent>) {
  const reload = clinicalDecisionSupportReload(getAgent);
  return async (
    req: { method: string; path: string; body?: unknown },
    res: { status(code: number): { json(body: unknown): void } },
  ) => {
    if (req.method === 'POST' && isPushBody(req.body)) {
      await reload({ data: req.body });
      res.status(200).json({ ok: true });
      return;
    }
    if (req.method !== 'POST' || !/(^|\/)predict\/?$/.test(req.path)) {
      res
        .status(404)
        .json({ error: `no route ${req.method} ${req.path}; POST /predict with one stay's JSON` });
      return;
    }
    const answer = await (await getAgent()).predict(req.body ?? {});
    res.status(answer.status).json(answer.body);
  };
}

const isPushBody = (body: unknown): body is MessagePublishedData =>
  typeof body === 'object' && body !== null && 'message' in body && 'subscription' in body;

/** Deployed: the model registry and documents of the stack named by the environment. */
let cloudAgent: Promise<ClinicalSupportAgent> | undefined;
functions.http(
  'clinicalDecisionSupport',
  clinicalDecisionSupportHandler(() => {
    cloudAgent ??= clinicalSupportFromStack(process.env);
    return cloudAgent;
  }) as unknown as functions.HttpFunction,
);
