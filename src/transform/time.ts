/**
 * The two ways atlas writes a time: JSON output has one format everywhere, ISO 8601 in UTC with
 * its offset written `Z` (as the spec's examples: 2025-10-28T12:30:00.000Z); text output is local
 * time (2025-10-28 13:30:00), as a person at the terminal reads a clock.
 */

/** A time for JSON output; null stays null. Accepts what pg returns (a Date) or any text Date can parse (json/jsonb's own format). */
export function isoTime(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** 2025-01-31 14:05:09 in local time. */
export function formatAbsoluteTime(iso: string | Date | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
