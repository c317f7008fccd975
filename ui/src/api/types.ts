// The REST API's response types, mirroring query/api/types.go (the
// contract; its OpenAPI document is served at /api/v1/openapi.json).
// Instants come as unix nanoseconds in decimal strings plus RFC 3339;
// durations as nanoseconds in JSON numbers.

export interface ErrorResponse {
  error: { code: string; message: string; parameter?: string };
}

export interface Window {
  startUnixNano: string;
  start: string;
  endUnixNano: string;
  end: string;
}

export interface Status {
  status: 'ok' | 'degraded';
  version: string;
  clickhouse: { reachable: boolean; embedded: boolean; database: string; version?: string; error?: string };
  spanCount: number;
  tenant: string;
}

export type AttributeType = 'string' | 'bool' | 'int' | 'double' | 'bytes' | 'array' | 'map';

export interface Attribute {
  key: string;
  type: AttributeType;
  value: unknown;
}

export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type StatusCode = 'unset' | 'ok' | 'error';

export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState?: string;
  name: string;
  kind: SpanKind;
  service: string;
  startTimeUnixNano: string;
  startTime: string;
  offsetNano: number;
  durationNano: number;
  status: { code: StatusCode; message?: string };
  attributes: Attribute[] | null;
  resource: { attributes: Attribute[] | null };
  scope: { name: string; version?: string };
  events: SpanEventDTO[] | null;
  links: SpanLinkDTO[] | null;
  faas?: Invocation;
}

export interface SpanEventDTO {
  name: string;
  timeUnixNano: string;
  time: string;
  attributes: Attribute[] | null;
}

export interface SpanLinkDTO {
  traceId: string;
  spanId: string;
  traceState?: string;
  attributes: Attribute[] | null;
}

export type ErrorType = 'timeout' | 'out_of_memory' | 'crash' | 'handler_error' | 'init_error' | 'throttled';
export const ERROR_TYPES: ErrorType[] = ['timeout', 'out_of_memory', 'crash', 'handler_error', 'init_error', 'throttled'];

export interface Invocation {
  function: string;
  version: string;
  instance: string;
  trigger: string;
  coldStart: boolean;
  errorType?: ErrorType | '';
  initDurationNano?: number;
  billedDurationNano: number;
  maxMemoryUsedBytes: number;
  memoryLimitBytes: number;
  timeoutNano: number;
  costUsd: number;
}

export interface TraceSummary {
  traceId: string;
  rootService: string;
  rootOperation: string;
  startTimeUnixNano: string;
  startTime: string;
  durationNano: number;
  spanCount: number;
  errorCount: number;
  coldStart: boolean;
  errorTypes: string[] | null;
  services: string[] | null;
  costUsd: number;
}

export interface Trace {
  traceId: string;
  summary: TraceSummary;
  spans: Span[];
  /** Spans whose parent is missing, span ids stored twice; absent when none. */
  warnings?: string[];
}

export interface TraceSearch {
  window: Window;
  traces: TraceSummary[];
  nextCursor?: string;
}

export interface Service {
  name: string;
  spanCount: number;
  errorCount: number;
  function: boolean;
}

export interface Services {
  window: Window;
  services: Service[];
}

export interface Operation {
  name: string;
  kind: SpanKind;
  spanCount: number;
}

export interface Operations {
  window: Window;
  service: string;
  operations: Operation[];
}

export interface Quantiles {
  p50Nano: number;
  p95Nano: number;
  p99Nano: number;
}

export interface FunctionSummary {
  name: string;
  version: string;
  invocations: number;
  coldStarts: number;
  coldStartRate: number;
  initDuration: Quantiles | null;
  duration: Quantiles | null;
  avgDurationNano: number;
  timeouts: number;
  errors: number;
  errorsByType: Record<'timeout' | 'out_of_memory' | 'crash' | 'handler_error' | 'init_error' | 'other', number>;
  throttles: number;
  billedDurationNano: number;
  billedGbSeconds: number;
  cost: { computeUsd: number; requestsUsd: number; totalUsd: number };
  maxMemoryUsedBytes: number;
  memoryLimitBytes: number;
}

export interface Functions {
  window: Window;
  prices: { perGbSecond: number; perMillionRequests: number };
  functions: FunctionSummary[];
}

export type Metric =
  | 'invocations'
  | 'coldstarts'
  | 'coldstart_rate'
  | 'init_p50'
  | 'init_p95'
  | 'init_p99'
  | 'duration_p50'
  | 'duration_p95'
  | 'duration_p99'
  | 'timeouts'
  | 'errors'
  | 'cost';

export interface Point {
  timeUnixNano: string;
  time: string;
  value: number | null;
}

export interface Timeseries {
  function: string;
  version?: string;
  metric: Metric;
  unit: 'count' | 'ratio' | 'nanoseconds' | 'usd';
  stepSeconds: number;
  window: Window;
  points: Point[];
}

export interface ColdStart {
  traceId: string;
  spanId: string;
  timeUnixNano: string;
  time: string;
  initDurationNano: number;
}

export interface Instance {
  instance: string;
  version: string;
  firstSeenUnixNano: string;
  firstSeen: string;
  lastSeenUnixNano: string;
  lastSeen: string;
  invocations: number;
  errors: number;
  coldStart: ColdStart | null;
  peakMemoryBytes: number;
  memoryLimitBytes: number;
  memoryUsedRatio: number | null;
}

export interface Instances {
  function: string;
  window: Window;
  instances: Instance[];
}

export interface DependencyEdge {
  parent: string;
  child: string;
  calls: number;
  errors: number;
  p95DurationNano: number;
}

export interface Dependencies {
  window: Window;
  edges: DependencyEdge[];
}

export interface AttributeKey {
  key: string;
  scope: 'span' | 'resource';
  type: AttributeType;
  count: number;
}

export interface Attributes {
  window: Window;
  attributes: AttributeKey[];
}

export interface AttributeValues {
  key: string;
  window: Window;
  values: { value: string; count: number }[];
}
