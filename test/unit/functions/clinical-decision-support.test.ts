import { getFunction } from '@google-cloud/functions-framework/testing';
import {
  clinicalDecisionSupportHandler,
  clinicalDecisionSupportReload,
} from '../../../functions/agents/clinical-decision-support';
import type { ClinicalSupportAgent } from '../../../src/services/clinical-support-agent';

/** The clinical decision-support entry: one HTTP function for POST /predict and the model.published push. */
describe('functions/agents/clinical-decision-support', () => {
  function fakeAgent() {
    const calls: { predict: unknown[]; handle: string[] } = { predict: [], handle: [] };
    const agent = {
      predict: async (body: unknown) => {
        calls.predict.push(body);
        return { status: 400, body: { error: 'lactate_max: expected number' } };
      },
      handle: async (d: { data: string }) => void calls.handle.push(d.data),
    } as unknown as ClinicalSupportAgent;
    return { calls, getAgent: async () => agent };
  }
  function response() {
    const sent: { status?: number; body?: unknown } = {};
    return {
      sent,
      res: {
        status: (code: number) => (
          (sent.status = code),
          { json: (body: unknown) => void (sent.body = body) }
        ),
      },
    };
  }
  const push = (type: string, body: unknown) => ({
    message: { data: Buffer.from(JSON.stringify(body)).toString('base64'), attributes: { type } },
    subscription: 'projects/p/subscriptions/himas-agent-clinical-decision-support',
  });

  it("registers 'clinicalDecisionSupport' as an HTTP function", () => {
    expect(typeof getFunction('clinicalDecisionSupport')).toBe('function');
  });

  it('answers POST /predict with the agent’s status and body, and 404 elsewhere', async () => {
    const { calls, getAgent } = fakeAgent();
    const handler = clinicalDecisionSupportHandler(getAgent);
    const a = response();
    await handler({ method: 'POST', path: '/predict', body: { first_careunit: 'MICU' } }, a.res);
    expect(a.sent).toEqual({ status: 400, body: { error: 'lactate_max: expected number' } });
    expect(calls.predict).toEqual([{ first_careunit: 'MICU' }]);
    const b = response();
    await handler({ method: 'GET', path: '/predict' }, b.res);
    expect(b.sent.status).toBe(404);
  });

  it('hands a pushed model.published to the agent and skips other events', async () => {
    const { calls, getAgent } = fakeAgent();
    const handler = clinicalDecisionSupportHandler(getAgent);
    const a = response();
    await handler(
      {
        method: 'POST',
        path: '/projects/p/topics/himas-models',
        body: push('model.published', { type: 'model.published' }),
      },
      a.res,
    );
    expect(a.sent.status).toBe(200);
    await clinicalDecisionSupportReload(getAgent)({ data: push('round.closed', { type: 'round.closed' }) });
    expect(calls.handle).toEqual(['{"type":"model.published"}']);
    expect(calls.predict).toEqual([]);
  });
});
