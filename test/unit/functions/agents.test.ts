import { getFunction } from '@google-cloud/functions-framework/testing';
import { orchestratorHandler } from '../../../functions/agents/orchestrator';
import { privacyGuardianHandler } from '../../../functions/agents/privacy-guardian';
import type { OrchestratorAgent } from '../../../src/services/orchestrator-agent';
import type { PrivacyGuardianAgent } from '../../../src/services/privacy-guardian-agent';

/** The agent entry points: registered for functions-framework, decoding Eventarc's Pub/Sub CloudEvent. */
describe('functions/agents/*', () => {
  const message = (type: string, body: unknown) => ({
    data: { message: { data: Buffer.from(JSON.stringify(body)).toString('base64'), attributes: { type } } },
  });

  it.each(['privacyGuardian', 'orchestrator'])("registers '%s' with functions-framework", (name) => {
    expect(typeof getFunction(name)).toBe('function');
  });

  it('hands model.published to the agent, decoded, and skips other events without building it', async () => {
    const seen: string[] = [];
    const agent = { handle: async (d: { data: string }) => void seen.push(d.data) };
    let built = 0;
    const getAgent = async () => {
      built += 1;
      return agent as unknown as PrivacyGuardianAgent & OrchestratorAgent;
    };
    for (const handler of [privacyGuardianHandler(getAgent), orchestratorHandler(getAgent)]) {
      await handler(message('round.closed', { type: 'round.closed' }));
      await handler(message('model.published', { type: 'model.published' }));
    }
    expect(built).toBe(2);
    expect(seen).toEqual(['{"type":"model.published"}', '{"type":"model.published"}']);
  });

  it('the deployed variant builds its agent from the stack its environment names, and says why it cannot', async () => {
    // HIMAS_STACK is unset here (local-ipc): that stack's ports live in the local job runner, so a
    // served function has none (gcp and emulators open Firestore, Pub/Sub and their warehouse).
    const deployed = getFunction('privacyGuardian') as (event: unknown) => Promise<void>;
    await expect(deployed(message('model.published', {}))).rejects.toThrow(
      /HIMAS_STACK=local-ipc has no ports of its own/,
    );
  });
});
