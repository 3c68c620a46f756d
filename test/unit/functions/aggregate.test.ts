import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getFunction } from '@google-cloud/functions-framework/testing';
import { aggregateHandler } from '../../../functions/aggregate';
import { openEmbeddedStack, type EmbeddedStack } from '../../../src/adapters/embedded';
import { memoryLogger } from '../../../src/logging/logger';
import { systemClock } from '../../../src/ports/clock';
import { DocumentModelRegistry } from '../../../src/adapters/model-registry/document-model-registry';
import { Aggregator } from '../../../src/services/aggregator';
import { CryptoRandom } from '../../../src/runtime/crypto-random';

/** The function entry point: registered for functions-framework, decoding Eventarc's Pub/Sub CloudEvent. */
describe('functions/aggregate', () => {
  let dir: string;
  let stack: EmbeddedStack;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'himas-fn-'));
    stack = await openEmbeddedStack(dir);
  });
  afterEach(async () => {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is registered with functions-framework under the name 'aggregate'", () => {
    expect(typeof getFunction('aggregate')).toBe('function');
  });

  it('decodes the base64 Pub/Sub message and hands it to the aggregator (poison messages are acked and audited)', async () => {
    const aggregator = new Aggregator({
      documents: stack.documents,
      blobs: stack.blobs,
      events: stack.events,
      models: new DocumentModelRegistry(stack.documents, stack.blobs),
      clock: systemClock,
      logger: memoryLogger(),
      random: new CryptoRandom(),
      instanceId: 'test',
    });
    const handler = aggregateHandler(async () => aggregator);
    const data = Buffer.from('{"type":"update.submitted","broken":true}').toString('base64');
    await expect(
      handler({ data: { message: { data, attributes: { type: 'update.submitted' } } } }),
    ).resolves.toBeUndefined();
    const audit = await stack.documents.list('audit');
    expect(audit).toHaveLength(1);
    expect(audit[0].data.reason).toMatch(/malformed event/);
  });
});
