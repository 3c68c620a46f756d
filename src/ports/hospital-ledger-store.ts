import type { SignedLedgerEntry } from '../../schemas/privacy-ledger';

/**
 * A hospital's own privacy ledger (schemas/privacy-ledger.ts), in storage only that hospital writes:
 * locally its state folder (`.himas/hospitals/<id>/ledger/`), in the cloud its own bucket. One
 * ledger per hospital across all runs and all files of its data — never keyed by a file's bytes.
 * Entries are numbered; `append` is a conditional create, so two writers racing for the same
 * number cannot both win (the loser re-reads and re-checks the budget), and nothing is rewritten.
 */
export interface HospitalLedgerStore {
  /** The hospital's entries in sequence order 0, 1, 2, …; throws if one is missing or malformed. */
  read(hospitalId: string): Promise<SignedLedgerEntry[]>;
  /**
   * Creates entry number `signed.entry.sequence` durably. False when that number is already taken
   * (another writer got there first); nothing is written then.
   */
  append(hospitalId: string, signed: SignedLedgerEntry): Promise<boolean>;
  /** Hospitals with a ledger here, for `himas privacy ledger`. */
  hospitals(): Promise<string[]>;
  /** Where the ledger lives, for messages that tell an operator where to look. */
  describe(hospitalId: string): string;
}
