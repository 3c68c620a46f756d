import type { CohortRecord } from '../core/data';

/**
 * A hospital's own cohort. Runs inside the hospital's job only: CSV files locally, the hospital's
 * BigQuery table (`himas_<hospital>.cohort`) in the cloud.
 */
export interface CohortSource {
  read(hospitalId: string, split: 'train' | 'test'): Promise<CohortRecord[]>;
  /** Where the data lives, for the run document and error messages. */
  describe(): { kind: 'csv' | 'bigquery'; location: string };
}
