/**
 * Firestore-shaped paths: segments alternate collection/document, so a document path has an even
 * number of segments (`runs/r1`) and a collection path an odd number (`runs/r1/rounds`). Firestore
 * rejects the same malformed paths, so both adapters fail alike.
 */
export interface DocumentPath {
  path: string;
  parentCollection: string;
  id: string;
}

function segmentsOf(kind: string, path: string): string[] {
  if (typeof path !== 'string' || path.length === 0) {
    throw new Error(`invalid ${kind} path ${JSON.stringify(path)}: the path is empty`);
  }
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '') {
      throw new Error(
        `invalid ${kind} path ${JSON.stringify(path)}: empty segment (no leading, trailing or double '/')`,
      );
    }
    if (segment === '.' || segment === '..' || /^__.*__$/.test(segment)) {
      throw new Error(
        `invalid ${kind} path ${JSON.stringify(path)}: segment ${JSON.stringify(segment)} is reserved`,
      );
    }
  }
  return segments;
}

export function parseDocumentPath(path: string): DocumentPath {
  const segments = segmentsOf('document', path);
  if (segments.length % 2 !== 0) {
    throw new Error(
      `invalid document path ${JSON.stringify(path)}: a document path has an even number of segments ` +
        `(collection/document[/collection/document...])`,
    );
  }
  return { path, parentCollection: segments.slice(0, -1).join('/'), id: segments[segments.length - 1] };
}

export function validateCollectionPath(path: string): string {
  const segments = segmentsOf('collection', path);
  if (segments.length % 2 !== 1) {
    throw new Error(
      `invalid collection path ${JSON.stringify(path)}: a collection path has an odd number of segments ` +
        `(collection[/document/collection...])`,
    );
  }
  return path;
}
