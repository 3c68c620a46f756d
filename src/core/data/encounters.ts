import type { CohortRecord } from './features';

/**
 * Per-stay context beyond the first-24 h features: when the stay began and whether day-1
 * vasopressors were given. Kept beside the records (HospitalCohort.encounters, keyed by stay_id)
 * rather than inside them, so a cohort written by older code, and the CSV it writes, stay as they
 * were; `withEncounters` attaches them when a consumer (surveillance, treatment) needs them.
 */
export interface StayEncounter {
  /** Admission date, ISO 'YYYY-MM-DD' (CSV column `admittime`). */
  admittime: string;
  /** Vasopressor started on ICU day 1 (CSV column `vasopressor_day1`). */
  vasopressor_day1: 0 | 1;
}

export const ADMITTIME_COLUMN = 'admittime';
export const VASOPRESSOR_COLUMN = 'vasopressor_day1';

/** A record with its encounter context attached (the optional CohortRecord fields set). */
export type EncounterRecord = CohortRecord & StayEncounter;

/** Records with their encounters attached; a stay without one keeps its fields absent. */
export function withEncounters(
  records: readonly CohortRecord[],
  encounters: Readonly<Record<string, StayEncounter>>,
): CohortRecord[] {
  return records.map((record) => {
    const encounter = encounters[record.stay_id];
    return encounter === undefined ? record : { ...record, ...encounter };
  });
}

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of an ISO date (UTC calendar arithmetic, no clock involved). */
export function isoDateToDay(date: string): number {
  const match = ISO_DATE.exec(date);
  if (!match) throw new RangeError(`expected an ISO date YYYY-MM-DD, got '${date}'`);
  const day = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / DAY_MS;
  if (new Date(day * DAY_MS).toISOString().slice(0, 10) !== date)
    throw new RangeError(`'${date}' is not a calendar date`);
  return day;
}

export function dayToIsoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** Week index of an admission counted from `periodStart` (week 0 = its first 7 days). */
export function admissionWeek(admittime: string, periodStart: string): number {
  return Math.floor((isoDateToDay(admittime.slice(0, 10)) - isoDateToDay(periodStart)) / 7);
}
