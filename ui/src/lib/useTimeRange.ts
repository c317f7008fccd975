import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';
import { readRange, writeRange, type TimeRange } from './timeRange';

/** The page's time range, read from and written to the URL. */
export function useTimeRange(): [TimeRange, (r: TimeRange) => void] {
  const [params, setParams] = useSearchParams();
  const range = useMemo(() => readRange(params), [params]);
  const setRange = useCallback(
    (r: TimeRange) => setParams((prev) => writeRange(prev, r)),
    [setParams],
  );
  return [range, setRange];
}

/** "?range=…" (or from/to) of the current URL, for links that keep the window. */
export function useRangeSearch(): string {
  const [params] = useSearchParams();
  return useMemo(() => {
    const keep = new URLSearchParams();
    for (const k of ['range', 'from', 'to']) {
      const v = params.get(k);
      if (v) keep.set(k, v);
    }
    const s = keep.toString();
    return s ? `?${s}` : '';
  }, [params]);
}
