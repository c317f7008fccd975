// Aligns the API's time series (unix-nanosecond strings) on one time axis
// in unix seconds, as uPlot wants.
import type { Timeseries } from '../api/types';

export function pointSeconds(unixNano: string): number {
  try {
    return Number(BigInt(unixNano) / 1_000_000n) / 1000;
  } catch {
    return NaN;
  }
}

export interface Aligned {
  timestamps: number[];
  /** One array per input series, with null where that series has no point. */
  values: (number | null)[][];
}

export function alignSeries(list: (Timeseries | undefined)[], scale: (v: number) => number = (v) => v): Aligned {
  const times = new Set<number>();
  const maps = list.map((ts) => {
    const m = new Map<number, number | null>();
    for (const p of ts?.points ?? []) {
      const t = pointSeconds(p.timeUnixNano);
      if (!Number.isFinite(t)) continue;
      times.add(t);
      m.set(t, p.value === null ? null : scale(p.value));
    }
    return m;
  });
  const timestamps = [...times].sort((a, b) => a - b);
  return { timestamps, values: maps.map((m) => timestamps.map((t) => m.get(t) ?? null)) };
}
