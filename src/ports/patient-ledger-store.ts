import type { PatientLedgerEntry } from '../../schemas/patient-ledger';

/**
 * A hospital's own patient-level privacy ledger, reachable only from the hospital's job (and its
 * operator), kept per cohort: `cohortFingerprint` is the sha256 of the training split, so every run
 * on the same patients spends the same lifetime budget. Locally: files next to the cohort
 * (`<data dir>/privacy-ledger/<hospital>/<fingerprint>/`); in the cloud: the hospital's own
 * volume or bucket, as its cohort is.
 */
export interface PatientLedgerStore {
  /** The cohort's entries, oldest first. */
  read(hospitalId: string, cohortFingerprint: string): Promise<PatientLedgerEntry[]>;
  /** Appends one entry durably (all or nothing) before the caller trains. */
  append(hospitalId: string, cohortFingerprint: string, entry: PatientLedgerEntry): Promise<void>;
  /** Every (hospital, cohort) with a ledger, for `himas privacy ledger`. */
  cohorts(): Promise<Array<{ hospitalId: string; cohortFingerprint: string }>>;
  /** Where a cohort's ledger lives, for messages that tell an operator where to look. */
  describe(hospitalId: string, cohortFingerprint: string): string;
}
