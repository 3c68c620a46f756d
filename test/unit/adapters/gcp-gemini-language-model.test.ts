/**
 * GeminiLanguageModel at the request level: the real @google/generative-ai client (its `baseUrl`
 * request option) against a loopback server speaking the generateContent REST API. Pins what is
 * sent (model, system instruction, prompt, output limit, key header), the retries on 429/5xx and
 * timeouts, and that errors never carry the API key.
 */
import { GeminiLanguageModel, LanguageModelError } from '../../../src/adapters/gcp/gemini-language-model';
import { FakeGoogleRestServer, restError, type RestAnswer } from './fixtures/fake-google-rest-server';

const KEY = 'test-key-0123456789';
const GENERATE = /\/v1beta\/models\/gemini-2\.5-flash:generateContent$/;

const answer = (text: string): RestAnswer => ({
  json: { candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }] },
});

describe('GeminiLanguageModel against a fake generateContent endpoint', () => {
  let server: FakeGoogleRestServer;
  let sleeps: number[];
  let model: GeminiLanguageModel;

  beforeAll(async () => {
    server = await new FakeGoogleRestServer().start();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    server.reset();
    sleeps = [];
    model = new GeminiLanguageModel({
      apiKey: KEY,
      model: 'gemini-2.5-flash',
      baseUrl: `http://127.0.0.1:${server.port}`,
      timeoutMs: 2_000,
      retry: { maxAttempts: 3, sleep: async (ms) => void sleeps.push(ms) },
    });
  });

  const calls = () => server.requests.filter((r) => GENERATE.test(r.path));

  test('sends the system instruction, the prompt and the output limit; returns the text', async () => {
    server.route('POST', GENERATE, answer('  Round 3 closed with 3 hospitals.\n'));
    const text = await model.generate({
      system: 'You summarise federated training runs.',
      prompt: 'run r1, round 3, 3 hospitals, AUROC 0.81',
      maxOutputTokens: 256,
    });
    expect(text).toBe('Round 3 closed with 3 hospitals.');
    expect(model.name).toBe('gemini-2.5-flash');
    const [call] = calls();
    expect(call.headers['x-goog-api-key']).toBe(KEY);
    expect(call.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'run r1, round 3, 3 hospitals, AUROC 0.81' }] }],
      systemInstruction: { role: 'system', parts: [{ text: 'You summarise federated training runs.' }] },
      generationConfig: { maxOutputTokens: 256 },
      safetySettings: [],
    });
  });

  test('429 and 5xx are retried with backoff', async () => {
    let n = 0;
    server.route('POST', GENERATE, () =>
      ++n === 1
        ? restError(429, 'RESOURCE_EXHAUSTED', 'quota')
        : n === 2
          ? restError(503, 'UNAVAILABLE', 'overloaded')
          : answer('ok'),
    );
    expect(await model.generate({ system: 's', prompt: 'p' })).toBe('ok');
    expect(calls()).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  test('a request that does not answer in time is retried, then fails clearly', async () => {
    const quick = new GeminiLanguageModel({
      apiKey: KEY,
      model: 'gemini-2.5-flash',
      baseUrl: `http://127.0.0.1:${server.port}`,
      timeoutMs: 50,
      retry: { maxAttempts: 2, sleep: async (ms) => void sleeps.push(ms) },
    });
    server.route('POST', GENERATE, { hang: true });
    await expect(quick.generate({ system: 's', prompt: 'p' })).rejects.toThrow(
      /gemini-2.5-flash did not answer: .*aborted/i,
    );
    expect(calls()).toHaveLength(2);
  });

  test('a client error (400) is not retried, and the key never appears in the message', async () => {
    server.route('POST', GENERATE, restError(400, 'INVALID_ARGUMENT', `API key not valid: ${KEY}`));
    const failed = model.generate({ system: 's', prompt: 'p' });
    await expect(failed).rejects.toThrow(LanguageModelError);
    await expect(failed).rejects.toThrow(/did not answer \(HTTP 400\)/);
    await expect(failed).rejects.not.toThrow(KEY);
    expect(calls()).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  test('a blocked prompt or an empty answer is an error, not empty prose', async () => {
    server.route('POST', GENERATE, { json: { promptFeedback: { blockReason: 'SAFETY' } } });
    await expect(model.generate({ system: 's', prompt: 'p' })).rejects.toThrow(/did not answer: .*SAFETY/);
    server.route('POST', GENERATE, answer('   '));
    await expect(model.generate({ system: 's', prompt: 'p' })).rejects.toThrow(/answered with no text/);
  });

  test('needs a key and a model name', () => {
    expect(() => new GeminiLanguageModel({ apiKey: '', model: 'm' })).toThrow(/GEMINI_API_KEY/);
    expect(() => new GeminiLanguageModel({ apiKey: 'k', model: '' })).toThrow(/HIMAS_GEMINI_MODEL/);
  });
});
