import type { DocumentStore } from '../ports/document-store';

export type ReadOnlyDocuments = Pick<DocumentStore, 'get' | 'list' | 'getParsed'>;

/**
 * A view of a document store that can only read: what a hospital job is handed, so no code path
 * in it can write shared state even where its credentials could (the cloud's IAM refuses too:
 * hospital service accounts hold roles/datastore.viewer only).
 */
export function readOnlyDocuments(store: ReadOnlyDocuments): ReadOnlyDocuments {
  return Object.freeze({
    get: store.get.bind(store) as DocumentStore['get'],
    list: store.list.bind(store) as DocumentStore['list'],
    ...(store.getParsed ? { getParsed: store.getParsed.bind(store) as DocumentStore['getParsed'] } : {}),
  });
}
