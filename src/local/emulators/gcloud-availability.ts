import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';

export interface GcloudAvailability {
  /** gcloud, Java and both emulator components are present. */
  available: boolean;
  gcloud?: string;
  java?: string;
  /** What is missing, each with how to fix it; empty when available. */
  problems: string[];
}

// Component folders under the Cloud SDK root (`gcloud components install ...` or the apt/yum
// packages google-cloud-cli-pubsub-emulator / google-cloud-cli-firestore-emulator).
const COMPONENTS = [
  { folder: 'pubsub-emulator', install: 'gcloud components install pubsub-emulator' },
  { folder: 'cloud-firestore-emulator', install: 'gcloud components install cloud-firestore-emulator' },
];

/**
 * Whether the emulators can start here, found without running gcloud (its Python start-up costs
 * seconds): executables on PATH and the emulator components beside the SDK. Never throws.
 */
export async function gcloudAvailability(env: NodeJS.ProcessEnv = process.env): Promise<GcloudAvailability> {
  return checkGcloudAvailability(env);
}

/** The synchronous check, for deciding at test-definition time whether emulator suites run. */
export function checkGcloudAvailability(env: NodeJS.ProcessEnv = process.env): GcloudAvailability {
  const problems: string[] = [];
  const gcloud = findExecutable('gcloud', env);
  const java = findExecutable('java', env);
  if (gcloud === undefined) {
    problems.push(
      'gcloud not found on PATH: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)',
    );
  }
  if (java === undefined) {
    problems.push(
      'java not found on PATH: the Pub/Sub and Firestore emulators need a Java 11+ runtime (e.g. openjdk-17-jre-headless)',
    );
  }
  if (gcloud !== undefined) {
    const sdkRoot = sdkRootOf(gcloud);
    for (const component of COMPONENTS) {
      if (sdkRoot !== undefined && !existsSync(path.join(sdkRoot, 'platform', component.folder))) {
        problems.push(`the ${component.folder} component is missing under ${sdkRoot}: ${component.install}`);
      }
    }
  }
  return { available: problems.length === 0, gcloud, java, problems };
}

function findExecutable(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const extensions = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const directory of (env.PATH ?? '').split(path.delimiter)) {
    if (directory === '') continue;
    for (const extension of extensions) {
      const candidate = path.join(directory, name + extension);
      try {
        accessSync(candidate, constants.X_OK);
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** `<sdk>/bin/gcloud` → `<sdk>`, following the /usr/bin symlink of package installs. */
function sdkRootOf(gcloud: string): string | undefined {
  try {
    return path.dirname(path.dirname(realpathSync(gcloud)));
  } catch {
    return undefined;
  }
}
