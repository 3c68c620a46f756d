import { openStackPorts } from '../config/stack-config';
import type { DocumentStore } from '../ports/document-store';
import type { ModelRegistry } from '../ports/model-registry';
import { readStackState, stackConfigOf, stackStatePath } from '../local/stack/stack-control';
import { withExistingStore } from './existing-store';
import { UserError } from './user-error';

export type StoreKind = 'embedded' | 'emulators';

export function parseStoreKind(text: string | undefined): StoreKind {
  const kind = text ?? 'embedded';
  if (kind !== 'embedded' && kind !== 'emulators')
    throw new UserError(`--stack '${kind}' must be 'embedded' or 'emulators'`);
  return kind;
}

/**
 * Reads the documents and model versions of a stack: the embedded store in `home`, or the running
 * emulator stack recorded in `<home>/stack.json` (through the same Google Cloud adapters the
 * functions use).
 */
export async function withStoreReader<T>(
  home: string,
  kind: StoreKind,
  fn: (store: { documents: DocumentStore; models: ModelRegistry }) => Promise<T>,
): Promise<T> {
  if (kind === 'embedded')
    return withExistingStore(home, (platform) =>
      fn({ documents: platform.stack.documents, models: platform.models }),
    );
  const state = readStackState(home);
  if (!state)
    throw new UserError(
      `no emulator stack recorded in ${stackStatePath(home)}; \`himas stack up\` or \`himas train --stack emulators\` first`,
    );
  const ports = openStackPorts(stackConfigOf(state));
  try {
    return await fn(ports);
  } finally {
    await ports.close();
  }
}
