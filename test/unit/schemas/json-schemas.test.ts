import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { generateJsonSchemas } from '../../../schemas/json-schemas';
import { EVENT_TYPES } from '../../../schemas/events';

const DIR = path.resolve(__dirname, '..', '..', '..', 'schemas', 'json');

describe('generated JSON Schemas', () => {
  it('match the zod contracts (run `npm run schemas` after changing a contract)', () => {
    const generated = generateJsonSchemas();
    expect(readdirSync(DIR).sort()).toEqual(Object.keys(generated).sort());
    for (const [file, text] of Object.entries(generated)) {
      expect(`${file}: ${readFileSync(path.join(DIR, file), 'utf8')}`).toBe(`${file}: ${text}`);
    }
  });

  it('describe every event type', () => {
    const text = readFileSync(path.join(DIR, 'event.schema.json'), 'utf8');
    for (const type of EVENT_TYPES) expect(text).toContain(`"${type}"`);
  });
});
