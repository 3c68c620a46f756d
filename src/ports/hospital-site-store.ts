/**
 * What a hospital keeps for itself between the rounds of a run (issue 14): its own intercept
 * when the run trains site intercepts (src/core/model/site-intercept.ts). It lives where the
 * hospital's privacy ledger lives (its own bucket in the cloud, its state folder locally), never
 * in the shared store: the coordinator and the other hospitals never read it.
 */
export interface HospitalSiteStore {
  /**
   * The intercept the hospital trained in the latest round ≤ `round` of the run, or null when it
   * trained none yet (it then scores and trains from the shared model's intercept).
   */
  interceptAt(runId: string, hospitalId: string, round: number): Promise<SiteIntercept | null>;
  /** Records the intercept trained in `round`; a retry of the round replaces its own value. */
  saveIntercept(runId: string, hospitalId: string, round: number, intercept: number): Promise<void>;
  /** Where the hospital's site state lives, for messages to an operator. */
  describe(hospitalId: string): string;
}

export interface SiteIntercept {
  /** The round that trained it. */
  round: number;
  intercept: number;
}
