// Real data from the function runtime: waits until `coldtrace up --examples`
// has deployed the example functions, then calls them through the gateway
// from a traced client ("storefront", OpenTelemetry JS SDK), the way an
// application would: its client span's traceparent makes each invocation
// part of the client's trace.
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { eventually, getJSON } from './harness';

export const CLIENT_SERVICE = 'storefront';

export interface Call {
  fn: string;
  path: string;
  status: number;
  traceId: string;
}

export interface RuntimeData {
  calls: Call[];
  /** The function whose cold start the tests open, and the path searched for by attribute. */
  coldFunction: string;
  searchPath: string;
  /** The function that timed out once. */
  timeoutFunction: string;
  /** Invocations made per function. */
  invocations: Record<string, number>;
}

const NEEDED = ['python-hello', 'node-hello', 'slow'];

export async function driveRuntime(gateway: string, otlpHttp: string): Promise<RuntimeData> {
  await eventually(
    `the examples ${NEEDED.join(', ')} to be deployed`,
    async () => {
      const list = await getJSON<{ functions: { name: string }[] }>(`${gateway}/api/v1/functions`);
      const names = new Set(list.functions.map((f) => f.name));
      return NEEDED.every((n) => names.has(n)) ? true : undefined;
    },
    300_000,
  );

  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': CLIENT_SERVICE, 'service.version': '1.0.0' }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${otlpHttp}/v1/traces` }))],
  });
  const tracer = provider.getTracer('coldtrace-e2e');
  const propagator = new W3CTraceContextPropagator();
  const calls: Call[] = [];

  // One at a time, so the second call to a function finds its instance warm.
  const call = async (fn: string, path: string, query = '') => {
    const span = tracer.startSpan(`GET /fn/${fn}${path}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'http.request.method': 'GET', 'url.full': `${gateway}/fn/${fn}${path}${query}` },
    });
    const headers: Record<string, string> = {};
    propagator.inject(trace.setSpan(context.active(), span), headers, {
      set: (carrier, key, value) => {
        (carrier as Record<string, string>)[key] = value;
      },
    });
    const res = await fetch(`${gateway}/fn/${fn}${path}${query}`, { headers });
    await res.arrayBuffer();
    span.setAttribute('http.response.status_code', res.status);
    if (res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    calls.push({ fn, path, status: res.status, traceId: span.spanContext().traceId });
  };

  await call('python-hello', '/cart'); // cold
  await call('python-hello', '/cart');
  await call('python-hello', '/home');
  await call('python-hello', '/home');
  await call('node-hello', '/');
  await call('node-hello', '/');
  await call('slow', '/', '?ms=1500'); // over its 1 s timeout: killed
  await call('slow', '/', '?ms=50'); // a new instance: cold again

  await provider.forceFlush();
  await provider.shutdown();

  const invocations: Record<string, number> = {};
  for (const c of calls) invocations[c.fn] = (invocations[c.fn] ?? 0) + 1;
  const timedOut = calls.filter((c) => c.fn === 'slow' && c.status === 504);
  if (timedOut.length !== 1) throw new Error(`expected one timed-out call to slow, got statuses ${calls.map((c) => c.status)}`);
  return { calls, coldFunction: 'python-hello', searchPath: '/fn/python-hello/cart', timeoutFunction: 'slow', invocations };
}
