// The time range every page reads from the URL, so a copied link shows the
// same window: either ?range=1h (relative to now) or ?from=…&to=… (epoch ms).

export type TimeRange =
  | { kind: 'relative'; last: string }
  | { kind: 'absolute'; from: number; to: number };

export interface ResolvedRange {
  from: Date;
  to: Date;
}

export const PRESETS: { last: string; label: string }[] = [
  { last: '5m', label: 'Last 5 minutes' },
  { last: '15m', label: 'Last 15 minutes' },
  { last: '1h', label: 'Last hour' },
  { last: '6h', label: 'Last 6 hours' },
  { last: '24h', label: 'Last 24 hours' },
  { last: '7d', label: 'Last 7 days' },
];

export const DEFAULT_RANGE: TimeRange = { kind: 'relative', last: '1h' };

const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };
const RELATIVE = /^(\d{1,4})([smhd])$/;

/** Milliseconds of a relative range such as "15m", or undefined when malformed. */
export function relativeMs(last: string): number | undefined {
  const m = RELATIVE.exec(last);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]];
  return ms > 0 ? ms : undefined;
}

function parseInstant(v: string | null): number | undefined {
  if (!v) return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Reads the range from URL parameters; anything malformed falls back to the default. */
export function readRange(params: URLSearchParams): TimeRange {
  const from = parseInstant(params.get('from'));
  const to = parseInstant(params.get('to'));
  if (from !== undefined && to !== undefined && from < to) return { kind: 'absolute', from, to };
  const last = params.get('range');
  if (last && relativeMs(last) !== undefined) return { kind: 'relative', last };
  return DEFAULT_RANGE;
}

/** Returns a copy of params carrying range (and nothing of a previous one). */
export function writeRange(params: URLSearchParams, range: TimeRange): URLSearchParams {
  const next = new URLSearchParams(params);
  next.delete('range');
  next.delete('from');
  next.delete('to');
  if (range.kind === 'relative') {
    next.set('range', range.last);
  } else {
    next.set('from', String(Math.round(range.from)));
    next.set('to', String(Math.round(range.to)));
  }
  return next;
}

export function resolveRange(range: TimeRange, now: number = Date.now()): ResolvedRange {
  if (range.kind === 'absolute') return { from: new Date(range.from), to: new Date(range.to) };
  return { from: new Date(now - (relativeMs(range.last) ?? 3600e3)), to: new Date(now) };
}

/** A stable string for cache keys: relative ranges stay relative. */
export function rangeKey(range: TimeRange): string {
  return range.kind === 'relative' ? `last:${range.last}` : `abs:${range.from}-${range.to}`;
}

export function describeRange(range: TimeRange): string {
  if (range.kind === 'relative') {
    return PRESETS.find((p) => p.last === range.last)?.label ?? `Last ${range.last}`;
  }
  const fmt = (ms: number) => new Date(ms).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
  return `${fmt(range.from)} – ${fmt(range.to)}`;
}

/** A step that gives about `points` buckets over the range, rounded to a whole minute or more. */
export function stepSeconds(r: ResolvedRange, points = 60): number {
  const span = (r.to.getTime() - r.from.getTime()) / 1000;
  const steps = [60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  return steps.find((s) => span / s <= points) ?? 86400;
}
