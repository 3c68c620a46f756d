import { raiseError } from '../errors';
import { isNumber, typeName, type WfValue } from '../values';
import { needString } from './arguments';
import { defineFunctions } from './registry';

/**
 * time.format, time.parse and sys.sleep_until
 * (https://cloud.google.com/workflows/docs/reference/stdlib/time/format, .../time/parse,
 * .../sys/sleep_until). Timestamps carry microseconds ("2024-07-12T12:50:33.000000Z"); time zones
 * are IANA names, resolved with the ICU data Node.js ships (Intl), offsets printed as +02:00 and a
 * zero offset as Z.
 */
const MICROS_PER_SECOND = 1_000_000;
const ONE_YEAR_SECONDS = 31_536_000;

function offsetMinutes(ms: number, timeZone: string): number {
  const name =
    new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
      .formatToParts(new Date(ms))
      .find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  if (!m || !m[1]) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

function checkTimeZone(tz: string): string {
  if (tz === '') return 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    raiseError(
      'ValueError',
      `time.format: unknown time zone '${tz}' (use a tz database name such as Europe/Paris)`,
    );
  }
  return tz;
}

export function formatTimestamp(seconds: bigint | number, tz = 'UTC'): string {
  const micros =
    typeof seconds === 'bigint' ? seconds * 1_000_000n : BigInt(Math.round(seconds * MICROS_PER_SECOND));
  const wholeMs = Number(micros / 1000n - (micros % 1000n < 0n ? 1n : 0n));
  const fraction = Number(((micros % 1_000_000n) + 1_000_000n) % 1_000_000n);
  const offset = offsetMinutes(wholeMs, tz);
  const local = new Date(wholeMs + offset * 60_000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
  const time = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  const sign = offset < 0 ? '-' : '+';
  const zone =
    offset === 0 ? 'Z' : `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${date}T${time}.${pad(fraction, 6)}${zone}`;
}

/** RFC 3339 section 5.6 date-time to seconds since the epoch (microsecond precision). */
export function parseTimestamp(text: string, fn: string): number {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/.exec(
      text,
    );
  const bad = (): never =>
    raiseError(
      'ValueError',
      `${fn}: '${text}' is not an RFC 3339 timestamp such as 2024-05-08T12:01:00.000000Z`,
    );
  if (!m) bad();
  const [y, mo, d, h, mi, s] = m!.slice(1, 7).map(Number);
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth || h > 23 || mi > 59 || s > 60) bad();
  const offsetH = Number(m![10] ?? 0);
  const offsetM = Number(m![11] ?? 0);
  if (offsetH > 23 || offsetM > 59) bad();
  const offset = (m![9] === '-' ? -1 : 1) * (offsetH * 60 + offsetM);
  const micros = Number((m![7] ?? '').padEnd(6, '0').slice(0, 6));
  const epochSeconds = Date.UTC(y, mo - 1, d, h, mi, s) / 1000 - offset * 60;
  return epochSeconds + micros / MICROS_PER_SECOND;
}

export const timeFunctions = defineFunctions({
  'time.format': [
    ['seconds', 'timezone'],
    1,
    ([seconds, tz]) => {
      if (seconds === undefined || !isNumber(seconds))
        raiseError('TypeError', `time.format: seconds must be a number, got ${typeName(seconds ?? null)}`);
      if (tz !== undefined && tz !== null && typeof tz !== 'string')
        raiseError('TypeError', `time.format: timezone must be a string, got ${typeName(tz)}`);
      return formatTimestamp(seconds, checkTimeZone((tz as string | null | undefined) ?? ''));
    },
  ],
  'time.parse': [['value'], 1, ([v]) => parseTimestamp(needString(v, 'time.parse', 'value'), 'time.parse')],
  'sys.sleep_until': [
    ['time'],
    1,
    async ([t], ctx): Promise<WfValue> => {
      const until = parseTimestamp(needString(t, 'sys.sleep_until', 'time'), 'sys.sleep_until');
      const now = ctx.clock.now() / 1000;
      if (until - now > ONE_YEAR_SECONDS)
        raiseError('ValueError', `sys.sleep_until: ${t} is more than one year from now`);
      if (until > now) await ctx.clock.sleep(until - now);
      return null;
    },
    true,
  ],
});
