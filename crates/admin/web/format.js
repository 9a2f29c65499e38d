// How numbers, money and times are shown. All times are the viewer's local time.

const SHORT_DATE = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric" });
const SHORT_DATE_YEAR = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", year: "numeric" });
const TIME = new Intl.DateTimeFormat("en-US", {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});
const DATE_TIME = new Intl.DateTimeFormat("en-US", {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
  timeZoneName: "short",
});
const INTEGER = new Intl.NumberFormat("en-US");

/** `YYYY-M-D` of a local date: equal keys are the same calendar day. */
export function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/** "Today", "Yesterday", or a short date like "Mar 14" ("Mar 14, 2024" in another year). */
export function dayLabel(date, now = new Date()) {
  const key = dayKey(date);
  if (key === dayKey(now)) return "Today";
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  if (key === dayKey(yesterday)) return "Yesterday";
  return date.getFullYear() === now.getFullYear() ? SHORT_DATE.format(date) : SHORT_DATE_YEAR.format(date);
}

/** "14:03:27". */
export function timeOfDay(date) {
  return TIME.format(date);
}

/** "Mar 14, 2025, 14:03:27 UTC". */
export function dateTime(date) {
  return DATE_TIME.format(date);
}

/** "$0.000123", or "—" when there is no cost. */
export function cost(value) {
  return typeof value === "number" && Number.isFinite(value) ? `$${value.toFixed(6)}` : "—";
}

/** "1,234", or "—" when unknown. */
export function integer(value) {
  return typeof value === "number" && Number.isFinite(value) ? INTEGER.format(value) : "—";
}

/** Prompt + completion tokens, or null when neither is known. */
export function totalTokens(log) {
  const known = [log.tokens_in, log.tokens_out].filter((t) => typeof t === "number");
  return known.length ? known.reduce((a, b) => a + b, 0) : null;
}

/** "1,234 ms". */
export function duration(ms) {
  return typeof ms === "number" && Number.isFinite(ms) ? `${INTEGER.format(ms)} ms` : "—";
}

/** A date-time string or epoch ms -> Date, or null. */
export function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "Mar 14, 2025" or "—". */
export function shortDate(value) {
  const d = toDate(value);
  return d ? SHORT_DATE_YEAR.format(d) : "—";
}
