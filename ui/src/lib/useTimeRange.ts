import { useCallback, useMemo } from 'react';
import { useLocation, useSearchParams } from 'react-router';
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

/**
 * Link state of a trace opened from the trace search: the search's query
 * (filters and window), for the trace's breadcrumb to return to. In the
 * history entry rather than the trace's URL, so a shared trace link stays
 * the trace's own.
 */
export interface FromSearch {
  fromSearch: string;
}

/** The link state that lets a trace opened from this page return to it, when this page is the trace search. */
export function useFromSearchState(): FromSearch | undefined {
  const { pathname, search } = useLocation();
  return pathname === '/traces' ? { fromSearch: search } : undefined;
}

/** Where a trace's breadcrumb goes: the search it was opened from, else the trace search in its window. */
export function useBackToSearch(): string {
  const { state } = useLocation();
  const rangeSearch = useRangeSearch();
  const from = (state as Partial<FromSearch> | null)?.fromSearch;
  return typeof from === 'string' && (from === '' || from.startsWith('?')) ? `/traces${from}` : `/traces${rangeSearch}`;
}
