import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { generateJsonSchemas } from './json-schemas';

// `npm run schemas`: regenerate schemas/json/ from the zod contracts.
const dir = path.join(__dirname, 'json');
mkdirSync(dir, { recursive: true });
for (const [file, text] of Object.entries(generateJsonSchemas())) {
  writeFileSync(path.join(dir, file), text);
  process.stdout.write(`wrote schemas/json/${file}\n`);
}
