import * as path from 'node:path';
import { HospitalIdSchema } from '../../../schemas/events';
import { FileHospitalKeyStore } from '../../adapters/keys/file-hospital-key-store';
import { openStackPorts, readStackConfig, StackConfigError } from '../../config/stack-config';
import { openEmbeddedPlatform } from '../../local/embedded-platform';
import { readStackState, stackConfigOf, stackStatePath } from '../../local/stack/stack-control';
import { systemClock } from '../../ports/clock';
import type { DocumentStore } from '../../ports/document-store';
import { MissingHospitalKeyError } from '../../ports/hospital-keys';
import {
  EnrolmentError,
  enrolHospital,
  fingerprint,
  listHospitals,
  publicKeysOf,
  revokeHospital,
  rotateHospitalKeys,
  type HospitalPublicKeys,
  type OperatorDeps,
} from '../../services/hospital-enrolment';
import { readEnrolment } from '../../services/enrolled-keys';
import { parseCommandArgs, stringFlag } from '../args';
import type { Command } from '../main';
import { defaultHome } from '../run-locations';
import { parseStoreKind, type StoreKind } from '../store-reader';
import { didYouMean } from '../suggest';
import { UserError } from '../user-error';

const HELP = `Usage: himas hospitals <enrol|rotate|revoke|list> [HOSPITAL] [flags]

The operator's register of hospital identities (hospitals/{id}). A hospital never enrols itself:
its jobs refuse to run unless their key store holds the key enrolled here, and every message a
hospital sends is verified against it. Every change is written to the audit log (himas audit).

  enrol HOSPITAL    enrol the hospital's public signing and masking keys
  rotate HOSPITAL   give it new keys; the old ones stay on record with their validity, so what
                    they signed (ledger entries, accepted updates) still verifies. Use this when
                    a key file was lost or replaced — deleting a key file never re-enrols.
  revoke HOSPITAL   refuse every new message of the hospital (--reason TEXT is required)
  list              the enrolled hospitals, their key fingerprints and state (--json for JSON)
  public-keys HOSPITAL  run by the hospital: prints the enrol flags for its own key file
                    (--keys-dir DIR, default <home>/keys), to send to the operator out of band;
                    creates nothing and never prints the private key

Keys: --signing-key B64 --masking-key B64 give the hospital's raw public keys (32 bytes, base64),
as the hospital sends them out of band. Without them, enrol and rotate act for a simulated
hospital whose key store is local (<home>/keys, or the emulator stack's folder): enrol creates
its key if it has none, rotate replaces it. \`himas train\` enrols its simulated hospitals itself.

Flags: --home DIR (default .himas), --stack embedded|emulators|gcp (default embedded). With
--stack gcp the command writes the project's Firestore with your (the operator's) credentials:
HIMAS_PROJECT and HIMAS_BUCKET name the stack, and enrol/rotate need --signing-key and
--masking-key (a cloud hospital's keys are never on the operator's machine).`;

const ACTIONS = ['enrol', 'rotate', 'revoke', 'list', 'public-keys'] as const;
type Action = (typeof ACTIONS)[number];

export const hospitalsCommand: Command = {
  summary: 'enrol, rotate, revoke or list hospital identities (operator only)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'hospitals',
      argv,
      {
        'signing-key': { type: 'string' },
        'masking-key': { type: 'string' },
        reason: { type: 'string' },
        'keys-dir': { type: 'string' },
        json: { type: 'boolean' },
        home: { type: 'string' },
        stack: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      true,
    );
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const [actionText, hospitalId, ...extra] = positionals;
    if (actionText === undefined)
      throw new UserError(
        `himas hospitals needs an action: ${ACTIONS.join(', ')}; see \`himas hospitals --help\``,
      );
    if (!(ACTIONS as readonly string[]).includes(actionText))
      throw new UserError(
        `unknown action '${actionText}' for \`himas hospitals\`${didYouMean(actionText, [...ACTIONS])}; actions: ${ACTIONS.join(', ')}`,
      );
    const action = actionText as Action;
    if (extra.length > 0)
      throw new UserError(`unexpected argument '${extra[0]}' for \`himas hospitals ${action}\``);
    if (action !== 'list' && hospitalId === undefined)
      throw new UserError(`himas hospitals ${action} needs a HOSPITAL id, e.g. himas hospitals ${action} h1`);
    if (action === 'list' && hospitalId !== undefined)
      throw new UserError(`himas hospitals list takes no HOSPITAL id (got '${hospitalId}')`);
    if (hospitalId !== undefined && !HospitalIdSchema.safeParse(hospitalId).success)
      throw new UserError(
        `bad hospital id '${hospitalId}': letters, digits, '.', '_' or '-', starting with a letter or digit`,
      );
    const given = givenKeys(stringFlag(values, 'signing-key'), stringFlag(values, 'masking-key'));
    if (given !== null && action !== 'enrol' && action !== 'rotate')
      throw new UserError(`--signing-key and --masking-key go with enrol or rotate, not ${action}`);
    const reason = stringFlag(values, 'reason');
    if (action === 'revoke' && (reason === undefined || reason.trim() === ''))
      throw new UserError('himas hospitals revoke needs --reason TEXT (it goes into the audit log)');

    const home = path.resolve(stringFlag(values, 'home') ?? defaultHome());
    if (action === 'public-keys') {
      // The hospital's side: no store is opened, nothing is written.
      const keysDir = path.resolve(stringFlag(values, 'keys-dir') ?? path.join(home, 'keys'));
      try {
        const keys = await publicKeysOf(new FileHospitalKeyStore(keysDir), hospitalId!);
        process.stdout.write(
          `--signing-key ${keys.signingPublicKey} --masking-key ${keys.maskingPublicKey}\n`,
        );
        return 0;
      } catch (error) {
        if (error instanceof MissingHospitalKeyError) throw new UserError(error.message);
        throw error;
      }
    }
    const stackFlag = stringFlag(values, 'stack');
    const kind: StoreKind | 'gcp' = stackFlag === 'gcp' ? 'gcp' : parseStoreKind(stackFlag);
    if (kind === 'gcp' && given === null && (action === 'enrol' || action === 'rotate'))
      throw new UserError(
        `himas hospitals ${action} --stack gcp needs the hospital's --signing-key and --masking-key (its key store is the hospital's own Secret Manager)`,
      );
    return withOperatorStore(home, kind, async ({ documents, keysDir }) => {
      const deps: OperatorDeps = { documents, clock: systemClock, operator: `operator:${operatorName()}` };
      try {
        if (action === 'list') return listAction(documents, values.json === true);
        const id = hospitalId!;
        const localKeys = new FileHospitalKeyStore(keysDir);
        let change;
        if (action === 'enrol') {
          const keys = given ?? (await localKeys.ensureSigningKey(id), await publicKeysOf(localKeys, id));
          change = await enrolHospital(deps, id, keys);
        } else if (action === 'rotate') {
          // Checked before a local key is replaced: a refused rotation leaves the key file alone.
          const current = await readEnrolment(documents, id);
          if (!current.ok) throw new EnrolmentError(current.reason);
          if (!current.enrolment.enabled)
            throw new EnrolmentError(`hospital ${id} is revoked; a revoked id is not given new keys`);
          const keys = given ?? (await localKeys.replaceSigningKey(id), await publicKeysOf(localKeys, id));
          change = await rotateHospitalKeys(deps, id, keys);
        } else {
          change = await revokeHospital(deps, id, reason!.trim());
        }
        const key = change.enrolment.signingPublicKey;
        process.stdout.write(`${change.detail} (signing key ${fingerprint(key)})\n`);
        return 0;
      } catch (error) {
        if (error instanceof EnrolmentError || error instanceof MissingHospitalKeyError)
          throw new UserError(error.message);
        throw error;
      }
    });
  },
};

function givenKeys(signing: string | undefined, masking: string | undefined): HospitalPublicKeys | null {
  if (signing === undefined && masking === undefined) return null;
  if (signing === undefined || masking === undefined)
    throw new UserError('--signing-key and --masking-key go together: give both public keys of the hospital');
  return { signingPublicKey: signing, maskingPublicKey: masking };
}

async function listAction(documents: Pick<DocumentStore, 'list'>, json: boolean): Promise<number> {
  const hospitals = await listHospitals(documents);
  if (json) {
    process.stdout.write(`${JSON.stringify(hospitals, null, 2)}\n`);
    return 0;
  }
  if (hospitals.length === 0) {
    process.stdout.write('no hospital is enrolled yet (himas hospitals enrol HOSPITAL)\n');
    return 0;
  }
  for (const h of hospitals) {
    const state = h.enabled
      ? 'enabled'
      : `revoked ${h.revokedAt ?? ''}${h.revocationReason ? ` (${h.revocationReason})` : ''}`;
    process.stdout.write(
      `${h.hospitalId.padEnd(12)} ${state.padEnd(8)} key ${fingerprint(h.signingPublicKey)} since ${h.keyValidFrom ?? h.enrolledAt}, ${h.previousKeys.length} retired key(s)\n`,
    );
  }
  return 0;
}

/** The store the operator writes: the embedded store in `home` (created if new), or the emulator stack. */
async function withOperatorStore<T>(
  home: string,
  kind: StoreKind | 'gcp',
  fn: (store: { documents: DocumentStore; keysDir: string }) => Promise<T>,
): Promise<T> {
  if (kind === 'embedded') {
    // A store another process holds fails here with StoreInUseError (main says to wait).
    const platform = await openEmbeddedPlatform({
      home,
      dataDir: '',
      logger: { write: () => undefined },
      withAggregator: false,
    });
    try {
      return await fn({ documents: platform.stack.documents, keysDir: path.join(home, 'keys') });
    } finally {
      await platform.close();
    }
  }
  if (kind === 'gcp') {
    let config;
    try {
      config = readStackConfig({ ...process.env, HIMAS_STACK: 'gcp' });
    } catch (error) {
      if (error instanceof StackConfigError) throw new UserError(`--stack gcp: ${error.message}`);
      throw error;
    }
    const ports = openStackPorts(config);
    try {
      // No local key store in the cloud: only keys given on the command line are enrolled.
      return await fn({ documents: ports.documents, keysDir: path.join(home, 'no-local-keys') });
    } finally {
      await ports.close();
    }
  }
  const state = readStackState(home);
  if (!state)
    throw new UserError(
      `no emulator stack recorded in ${stackStatePath(home)}; \`himas stack up\` or \`himas train --stack emulators\` first`,
    );
  const ports = openStackPorts(stackConfigOf(state));
  try {
    return await fn({ documents: ports.documents, keysDir: state.keysDir });
  } finally {
    await ports.close();
  }
}

function operatorName(): string {
  return process.env.USER ?? process.env.USERNAME ?? 'cli';
}
