import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { IdempotencyStrategy, Storage } from '@google-cloud/storage';
import { FirestoreDocumentStore } from './firestore-document-store';
import { GcsBlobStore } from './gcs-blob-store';
import { PubSubEventBus, type PubSubEventBusOptions } from './pubsub-event-bus';

export { FirestoreDocumentStore, type FirestoreDocumentStoreOptions } from './firestore-document-store';
export { PubSubEventBus, type PubSubEventBusOptions } from './pubsub-event-bus';
export { GcsBlobStore, SHA256_METADATA_KEY, type GcsBlobStoreOptions } from './gcs-blob-store';
export { NESTED_ARRAY_KEY } from './firestore-values';

export interface GcpStackConfig {
  projectId: string;
  /** `host:port` of the Pub/Sub emulator; unset in the cloud. */
  pubsubEmulatorHost?: string;
  /** `host:port` of the Firestore emulator; unset in the cloud. */
  firestoreEmulatorHost?: string;
  /** Cloud Storage bucket for blobs; without it the stack has no blob store (no GCS emulator). */
  bucket?: string;
  /** Cloud Storage endpoint override (tests); unset in the cloud. */
  storageApiEndpoint?: string;
  events?: Omit<PubSubEventBusOptions, 'closeClient' | 'emulator'>;
}

export interface GcpStack {
  documents: FirestoreDocumentStore;
  events: PubSubEventBus;
  blobs?: GcsBlobStore;
  close(): Promise<void>;
}

// On an emulator no credentials exist. Naming the universe domain stops the auth library from
// probing for the GCE metadata server (seconds of timeouts and a MetadataLookupWarning).
const UNIVERSE = 'googleapis.com';

/**
 * The Google Cloud adapters. Hosts are passed explicitly rather than through
 * PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST, so one process can hold clients for different
 * targets and nothing depends on ambient environment. Without hosts the clients use Application
 * Default Credentials (the Cloud Run / Cloud Functions service account); no keys in the repo.
 */
export function openGcpStack(config: GcpStackConfig): GcpStack {
  const firestore = config.firestoreEmulatorHost
    ? new Firestore({
        projectId: config.projectId,
        ...splitHost(config.firestoreEmulatorHost),
        ssl: false, // also makes the client send the emulator's "Bearer owner" token
        universeDomain: UNIVERSE,
      })
    : new Firestore({ projectId: config.projectId });
  const pubsub = config.pubsubEmulatorHost
    ? new PubSub({
        projectId: config.projectId,
        apiEndpoint: config.pubsubEmulatorHost,
        emulatorMode: true,
        universeDomain: UNIVERSE,
      })
    : new PubSub({ projectId: config.projectId });
  const documents = new FirestoreDocumentStore(firestore, { closeClient: true });
  const events = new PubSubEventBus(pubsub, {
    ...config.events,
    emulator: !!config.pubsubEmulatorHost,
    closeClient: true,
  });
  const blobs = config.bucket
    ? new GcsBlobStore(createStorage(config.projectId, config.storageApiEndpoint), config.bucket)
    : undefined;
  return {
    documents,
    events,
    blobs,
    async close() {
      await events.close();
      await documents.close();
    },
  };
}

/**
 * A Storage client that retries uploads too: the library retries only requests it can prove
 * idempotent (with generation preconditions), but a HIMAS put rewrites the whole object with
 * the same bytes, so repeating it is harmless.
 */
export function createStorage(
  projectId: string,
  apiEndpoint?: string,
  retry: { maxRetries?: number; retryDelayMultiplier?: number } = {},
): Storage {
  return new Storage({
    projectId,
    ...(apiEndpoint ? { apiEndpoint } : {}),
    retryOptions: {
      autoRetry: true,
      maxRetries: retry.maxRetries ?? 4,
      retryDelayMultiplier: retry.retryDelayMultiplier ?? 2,
      totalTimeout: 120,
      idempotencyStrategy: IdempotencyStrategy.RetryAlways,
    },
  });
}

function splitHost(hostPort: string): { host: string; port: number } {
  const cut = hostPort.lastIndexOf(':');
  const port = Number(hostPort.slice(cut + 1));
  if (cut <= 0 || !Number.isInteger(port))
    throw new Error(`emulator host must be host:port, got ${hostPort}`);
  return { host: hostPort.slice(0, cut), port };
}
