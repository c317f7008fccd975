import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

/** Query types; the Go backend (pkg/models/query.go) dispatches on them. */
export type QueryType = 'search' | 'trace' | 'metrics' | 'functions' | 'serviceMap';

export const QUERY_TYPES: Array<{ label: string; value: QueryType; description: string }> = [
  { label: 'Search', value: 'search', description: 'Find traces by service, duration, cold start, error type or attribute' },
  { label: 'Trace', value: 'trace', description: 'One trace by ID, for the trace view' },
  { label: 'Metrics', value: 'metrics', description: 'Function time series: cold starts, init time, timeouts, cost' },
  { label: 'Functions', value: 'functions', description: 'Per-function summary table' },
  { label: 'Service map', value: 'serviceMap', description: 'Calls between services, for the node graph' },
];

/** Function metrics, in the order of models.Metrics (pkg/models/query.go; a Go test checks they match). */
export const METRICS = [
  { label: 'Invocations', value: 'invocations' },
  { label: 'Cold starts', value: 'coldstarts' },
  { label: 'Cold start rate', value: 'coldstart_rate' },
  { label: 'Init duration p50', value: 'init_p50' },
  { label: 'Init duration p95', value: 'init_p95' },
  { label: 'Init duration p99', value: 'init_p99' },
  { label: 'Duration p50', value: 'duration_p50' },
  { label: 'Duration p95', value: 'duration_p95' },
  { label: 'Duration p99', value: 'duration_p99' },
  { label: 'Timeouts', value: 'timeouts' },
  { label: 'Errors', value: 'errors' },
  { label: 'Cost (USD)', value: 'cost' },
];

export const STATUSES = ['error', 'ok', 'unset'];

export const ERROR_TYPES = ['timeout', 'out_of_memory', 'crash', 'handler_error', 'init_error', 'throttled'];

/** What the functions metric selects when no function is chosen. */
export const ALL_FUNCTIONS = '*';

export interface AdHocFilter {
  key: string;
  operator: string;
  value: string;
}

export interface ColdtraceQuery extends DataQuery {
  queryType?: QueryType;
  // trace
  traceId?: string;
  // search
  service?: string;
  operation?: string;
  minDuration?: string;
  maxDuration?: string;
  status?: string;
  coldStart?: boolean;
  errorType?: string;
  attributes?: Record<string, string>;
  limit?: number;
  // metrics: function is a comma-separated list, empty or '*' for all
  function?: string;
  version?: string;
  metric?: string;
  // set by applyTemplateVariables from the dashboard's ad-hoc filters
  adhocFilters?: AdHocFilter[];
}

export const DEFAULT_QUERY: Partial<ColdtraceQuery> = {
  queryType: 'search',
  limit: 20,
};

/** jsonData of the data source. */
export interface ColdtraceOptions extends DataSourceJsonData {
  url?: string;
  tenant?: string;
  timeoutSeconds?: number;
}

/** secureJsonData: only the backend ever reads it. */
export interface ColdtraceSecureJsonData {
  apiToken?: string;
}

/** A template variable's query (the variable editor fills it). */
export interface VariableQuery extends DataQuery {
  kind: 'functions' | 'services' | 'operations' | 'attributeValues';
  service?: string;
  key?: string;
}

/** One dropdown entry, as the backend's resource handlers return it. */
export interface Option {
  label: string;
  value: string;
  description?: string;
}
