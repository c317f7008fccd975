// React Query hooks, one per endpoint the UI reads. Relative time ranges
// are sent as now-<duration> so the server resolves "now" and a cached
// answer is keyed by the range, not by the second it was asked.
import { keepPreviousData, queryOptions, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { relativeMs, rangeKey, type TimeRange } from '../lib/timeRange';
import { getJSON, type Query } from './client';
import type {
  Attributes,
  AttributeValues,
  Dependencies,
  Functions,
  Instances,
  Metric,
  Operations,
  Services,
  Status,
  Timeseries,
  Trace,
  TraceSearch,
} from './types';

export function windowParams(range: TimeRange): { start: string; end: string } {
  if (range.kind === 'relative') {
    return { start: `now-${Math.round((relativeMs(range.last) ?? 3600e3) / 1000)}s`, end: 'now' };
  }
  return { start: new Date(range.from).toISOString(), end: new Date(range.to).toISOString() };
}

const seg = encodeURIComponent;

export function useStatus() {
  return useQuery({
    queryKey: ['status'],
    queryFn: ({ signal }) => getJSON<Status>('/status', undefined, signal, [503]),
    refetchInterval: 30_000,
    retry: false,
  });
}

export function useFunctions(range: TimeRange) {
  return useQuery({
    queryKey: ['functions', rangeKey(range)],
    queryFn: ({ signal }) => getJSON<Functions>('/functions', windowParams(range), signal),
    placeholderData: keepPreviousData,
  });
}

export function useTimeseries(name: string, metric: Metric, range: TimeRange, version?: string) {
  return useQuery({
    queryKey: ['timeseries', name, metric, version ?? '', rangeKey(range)],
    queryFn: ({ signal }) =>
      getJSON<Timeseries>(`/functions/${seg(name)}/timeseries`, { metric, version, ...windowParams(range) }, signal),
    placeholderData: keepPreviousData,
  });
}

export function useInstances(name: string, range: TimeRange, version?: string) {
  return useQuery({
    queryKey: ['instances', name, version ?? '', rangeKey(range)],
    queryFn: ({ signal }) =>
      getJSON<Instances>(`/functions/${seg(name)}/instances`, { version, limit: 200, ...windowParams(range) }, signal),
    placeholderData: keepPreviousData,
  });
}

/** Attribute filters on this prefix are of resource attributes (resource.faas.instance=…). */
export const RESOURCE_PREFIX = 'resource.';

/** Trace search filters, exactly as the API and the page's URL name them. */
export interface TraceFilters {
  service?: string;
  operation?: string;
  minDuration?: string;
  maxDuration?: string;
  status?: string;
  coldStart?: string;
  errorType?: string;
  /** "key=value" pairs: span attributes, or resource attributes as "resource.key=value". */
  attrs?: string[];
}

/**
 * The API parameter of a "key=value" attribute filter, or undefined when
 * it has no key. The API's resource.KEY filters resource attributes,
 * attr.KEY span attributes; an empty value asks for spans that have the key.
 */
export function attributeParam(pair: string): { name: string; value: string } | undefined {
  const i = pair.indexOf('=');
  if (i <= 0) return undefined;
  const key = pair.slice(0, i).trim();
  const resource = key.startsWith(RESOURCE_PREFIX) && key.length > RESOURCE_PREFIX.length;
  return { name: resource ? key : `attr.${key}`, value: pair.slice(i + 1) };
}

export function searchQuery(f: TraceFilters, range: TimeRange, limit: number): Query {
  // Empty filters stay out of the request: only an attribute's empty value means something.
  const q: Query = {
    service: f.service || undefined,
    operation: f.operation || undefined,
    minDuration: f.minDuration || undefined,
    maxDuration: f.maxDuration || undefined,
    status: f.status || undefined,
    coldStart: f.coldStart || undefined,
    errorType: f.errorType || undefined,
    limit,
    ...windowParams(range),
  };
  for (const pair of f.attrs ?? []) {
    const p = attributeParam(pair);
    if (p) q[p.name] = p.value;
  }
  return q;
}

export function useTraceSearch(f: TraceFilters, range: TimeRange, limit = 50) {
  return useInfiniteQuery({
    queryKey: ['traces', f, rangeKey(range), limit],
    initialPageParam: '',
    queryFn: ({ pageParam, signal }) =>
      getJSON<TraceSearch>('/traces', { ...searchQuery(f, range, limit), cursor: pageParam || undefined }, signal),
    getNextPageParam: (last) => last.nextCursor || undefined,
    placeholderData: keepPreviousData,
  });
}

/** A trace never changes once its spans have arrived: fetched once per visit. */
export function traceQuery(traceId: string) {
  return queryOptions({
    queryKey: ['trace', traceId],
    queryFn: ({ signal }) => getJSON<Trace>(`/traces/${seg(traceId)}`, undefined, signal),
    staleTime: Infinity,
  });
}

export function useTrace(traceId: string) {
  return useQuery(traceQuery(traceId));
}

export function useServices(range: TimeRange) {
  return useQuery({
    queryKey: ['services', rangeKey(range)],
    queryFn: ({ signal }) => getJSON<Services>('/services', windowParams(range), signal),
    placeholderData: keepPreviousData,
  });
}

export function useOperations(service: string | undefined, range: TimeRange) {
  return useQuery({
    queryKey: ['operations', service, rangeKey(range)],
    queryFn: ({ signal }) => getJSON<Operations>(`/services/${seg(service!)}/operations`, windowParams(range), signal),
    enabled: !!service,
  });
}

export function useDependencies(range: TimeRange) {
  return useQuery({
    queryKey: ['dependencies', rangeKey(range)],
    queryFn: ({ signal }) => getJSON<Dependencies>('/dependencies', windowParams(range), signal),
    placeholderData: keepPreviousData,
  });
}

export function useAttributeKeys(range: TimeRange, service?: string) {
  return useQuery({
    queryKey: ['attributes', service ?? '', rangeKey(range)],
    queryFn: ({ signal }) =>
      getJSON<Attributes>('/attributes', { service: service || undefined, ...windowParams(range) }, signal),
    staleTime: 60_000,
  });
}

export function useAttributeValues(key: string, range: TimeRange, service?: string) {
  return useQuery({
    queryKey: ['attribute-values', key, service ?? '', rangeKey(range)],
    queryFn: ({ signal }) =>
      getJSON<AttributeValues>(
        `/attributes/${seg(key)}/values`,
        { service: service || undefined, ...windowParams(range) },
        signal,
      ),
    enabled: key !== '',
    staleTime: 60_000,
  });
}
