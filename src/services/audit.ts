import { createHash } from 'node:crypto';
import { paths, type AuditRecord } from '../../schemas/documents';
import type { DocumentStore } from '../ports/document-store';

/**
 * Appends an audit record. The id is derived from the facts (not random), so recording the same
 * rejection of a redelivered message twice writes one record.
 */
export async function recordAudit(
  documents: Pick<DocumentStore, 'create'>,
  record: Omit<AuditRecord, 'id' | 'time'>,
  time: Date,
): Promise<void> {
  const key = JSON.stringify([
    record.runId,
    record.round,
    record.actor,
    record.action,
    record.subject,
    record.reason,
  ]);
  const id = `${time.toISOString().slice(0, 10)}-${createHash('sha256').update(key).digest('hex').slice(0, 20)}`;
  await documents.create(paths.audit(id), { id, time: time.toISOString(), ...record });
}
