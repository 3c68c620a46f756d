import { z } from 'zod';
import {
  ModelVersionDocumentSchema,
  RoundDocumentSchema,
  RunDocumentSchema,
  UpdateReceiptSchema,
} from './documents';
import { HimasEventSchema } from './events';
import { TrainingReportSchema } from './report';
import { TrainingConfigSchema } from './training-config';

/**
 * JSON Schemas generated from the zod contracts, for tools outside TypeScript (Cloud Workflows
 * authors, BigQuery loaders, other languages). Never written by hand: `npm run schemas` writes
 * schemas/json/, and a test fails when the committed files differ from the contracts.
 */
export const JSON_SCHEMA_SOURCES: Record<string, z.ZodType> = {
  event: HimasEventSchema,
  'training-config': TrainingConfigSchema,
  'run-document': RunDocumentSchema,
  'round-document': RoundDocumentSchema,
  'update-receipt': UpdateReceiptSchema,
  'model-version-document': ModelVersionDocumentSchema,
  'training-report': TrainingReportSchema,
};

export function generateJsonSchemas(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, schema] of Object.entries(JSON_SCHEMA_SOURCES)) {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', cycles: 'ref' });
    files[`${name}.schema.json`] =
      `${JSON.stringify({ $id: `urn:himas:schema:${name}`, ...json }, null, 2)}\n`;
  }
  return files;
}
