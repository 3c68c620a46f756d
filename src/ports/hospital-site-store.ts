/**
 * What a hospital keeps for itself between the rounds of a run (issue 14): its own intercept
 * when the run trains site intercepts (src/core/model/site-intercept.ts). It lives where the
 * hospital's privacy ledger lives (its own bucket in the cloud, its state folder locally), never
 * in the shared store: the coordinator and the other hospitals never read it. Append-only, like
 * the ledger (in the cloud the job may create objects there, never overwrite them): one record per
 * update the hospital sent, named by the update's hash, so the intercept a hospital uses is the
 * one trained with the update that went into the aggregate, never a crashed attempt's.
 */
export interface HospitalSiteStore {
  /**
   * Keeps the intercept trained with the update whose bytes hash to `updateSha256` in `round`.
   * Idempotent: a record already there for that update is kept (the same bytes, the same training).
   */
  saveIntercept(
    runId: string,
    hospitalId: string,
    round: number,
    updateSha256: string,
    intercept: number,
  ): Promise<void>;
  /** The intercept kept with that update, or null when there is none (never saved, or lost). */
  interceptOf(runId: string, hospitalId: string, round: number, updateSha256: string): Promise<number | null>;
  /** Where the hospital's site state lives, for messages to an operator. */
  describe(hospitalId: string): string;
}
