// Canned REST API answers for page tests: fetch is replaced by a function
// that answers by path, so a test decides what each endpoint says (a 503,
// a malformed body) and when. What the API itself says is tested by the Go
// tests and the end-to-end run.
import { vi } from 'vitest';
import { QueryClient } from '@tanstack/react-query';
import type { Span, Status, Trace, TraceSummary, Window } from '../api/types';

/** An answer: a JSON body with status 200, or a status with a body. */
export type Answer = unknown | { status: number; body: unknown };

/** Answers a request to an API path (without /api/v1), or undefined for a 404. */
export type Route = (url: URL) => Answer | undefined;

export const failure = (status: number, message: string) => ({ status, body: { error: { message } } });

const isStatus = (a: unknown): a is { status: number; body: unknown } =>
  typeof a === 'object' && a !== null && 'status' in a && 'body' in a && Object.keys(a).length === 2;

/** Replaces fetch; returns the URLs asked for, in order. */
export function fakeApi(routes: Record<string, Route>): URL[] {
  const asked: URL[] = [];
  vi.stubGlobal('fetch', async (input: string) => {
    const url = new URL(input, 'http://coldtrace.test');
    asked.push(url);
    const answer = routes[url.pathname.replace(/^\/api\/v1/, '')]?.(url);
    const { status, body } = isStatus(answer)
      ? answer
      : answer === undefined
        ? failure(404, `no route ${url.pathname}`)
        : { status: 200, body: answer };
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  });
  return asked;
}

/** A query client as the app's, without retries or caching between tests. */
export function testQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
}

export const WINDOW: Window = {
  startUnixNano: '0',
  start: '1970-01-01T00:00:00Z',
  endUnixNano: '3600000000000',
  end: '1970-01-01T01:00:00Z',
};

export function traceSummary(traceId: string, rootService = 'checkout'): TraceSummary {
  return {
    traceId,
    rootService,
    rootOperation: 'GET /cart',
    startTimeUnixNano: '1000000000',
    startTime: '1970-01-01T00:00:01Z',
    durationNano: 5e6,
    spanCount: 3,
    errorCount: 0,
    coldStart: false,
    errorTypes: null,
    services: [rootService],
    costUsd: 0,
  };
}

export const STATUS: Status = {
  status: 'ok',
  version: 'test',
  clickhouse: { reachable: true, embedded: true, database: 'coldtrace' },
  spanCount: 1,
  tenant: '',
};

/** A trace of one server span. */
export function oneSpanTrace(traceId: string): Trace {
  const summary = traceSummary(traceId);
  const span: Span = {
    traceId,
    spanId: 'b'.repeat(16),
    parentSpanId: '',
    name: summary.rootOperation,
    kind: 'server',
    service: summary.rootService,
    startTimeUnixNano: summary.startTimeUnixNano,
    startTime: summary.startTime,
    offsetNano: 0,
    durationNano: summary.durationNano,
    status: { code: 'unset' },
    attributes: null,
    resource: { attributes: null },
    scope: { name: 'test' },
    events: null,
    links: null,
  };
  return { traceId, summary, spans: [span] };
}
