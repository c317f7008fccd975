// One trace of 10,000 spans, sent with the OpenTelemetry JS SDK over
// OTLP/HTTP: a nightly report fanning out ten calls per span, one service
// per level (report → storage → database → cache).
import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

export const BIG_TRACE_SERVICES = ['batch-report', 'storage', 'warehouse-db', 'cache'];

export interface BigTrace {
  traceId: string;
  spans: number;
}

// A deterministic pseudo-random sequence: every run sends the same shape.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export async function sendBigTrace(otlpHttp: string, spans = 10_000, now = Date.now()): Promise<BigTrace> {
  const rand = rng(42);
  const providers = BIG_TRACE_SERVICES.map(
    (service) =>
      new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service }),
        spanProcessors: [
          new BatchSpanProcessor(new OTLPTraceExporter({ url: `${otlpHttp}/v1/traces`, timeoutMillis: 60_000 }), {
            maxQueueSize: spans + 1,
            maxExportBatchSize: 2_000,
            scheduledDelayMillis: 200,
          }),
        ],
      }),
  );
  const tracers = providers.map((p) => p.getTracer('coldtrace-e2e'));
  const start = now - 5 * 60_000;
  const root = tracers[0].startSpan('nightly report', { kind: SpanKind.SERVER, startTime: start, attributes: { 'report.kind': 'nightly' } });
  const queue: { span: Span; start: number; end: number; depth: number }[] = [{ span: root, start, end: start + 8_000, depth: 0 }];
  const ends: { span: Span; end: number }[] = [];
  let made = 1;
  // Breadth first, ten children per span: 1 + 10 + 100 + 1,000 + 8,889.
  for (let q = 0; q < queue.length && made < spans; q++) {
    const parent = queue[q];
    const slot = (parent.end - parent.start) / 10;
    for (let c = 0; c < 10 && made < spans; c++, made++) {
      const svc = Math.min(parent.depth, BIG_TRACE_SERVICES.length - 1);
      const s = parent.start + c * slot + slot * 0.05;
      const e = s + slot * (0.5 + rand() * 0.4);
      const span = tracers[svc].startSpan(
        `${['render', 'read', 'query', 'lookup'][svc]} part ${made}`,
        { kind: svc === 0 ? SpanKind.INTERNAL : SpanKind.CLIENT, startTime: s, attributes: { 'part.index': made } },
        trace.setSpan(context.active(), parent.span),
      );
      queue.push({ span, start: s, end: e, depth: parent.depth + 1 });
      ends.push({ span, end: e });
    }
  }
  ends.forEach(({ span, end }) => span.end(end));
  root.end(start + 8_000);
  await Promise.all(providers.map((p) => p.forceFlush()));
  await Promise.all(providers.map((p) => p.shutdown()));
  return { traceId: root.spanContext().traceId, spans: made };
}

// A trace with its root and a span whose parent never arrives: a trace
// the UI must not show as whole.
export async function sendIncompleteTrace(otlpHttp: string): Promise<string> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'late-joiner' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${otlpHttp}/v1/traces` }))],
  });
  const tracer = provider.getTracer('coldtrace-e2e');
  const root = tracer.startSpan('root');
  const { traceId } = root.spanContext();
  const missingParent = trace.setSpanContext(context.active(), { traceId, spanId: 'deadbeefdeadbeef', traceFlags: 1, isRemote: true });
  tracer.startSpan('orphan', {}, missingParent).end();
  root.end();
  await provider.forceFlush();
  await provider.shutdown();
  return traceId;
}
