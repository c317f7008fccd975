// Spans for the page behaviours the e2e checks beyond the runtime's data,
// sent with the OpenTelemetry JS SDK over OTLP/HTTP like any application's:
// two services that call each other (ping calls pong 3 times, pong calls
// ping 7 times), more traces of one service than a search page holds, and
// invocations of two versions of one function with different memory
// limits and peaks (the faas.* attributes the API reads, DESIGN.md).
import { context, SpanKind, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

const MiB = 1024 * 1024;

/** The service whose traces fill more than one search page. */
export const PAGER_SERVICE = 'pager';
/** More than the 50 a search page asks for. */
export const PAGER_TRACES = 55;
/** The span attribute every ping/pong trace's root carries (for "has the key"). */
export const RALLY_KEY = 'rally.side';

/** The function with two versions, and each version's limit and peak. */
export const MEMORY_FUNCTION = 'memhog';
export const MEMORY_VERSIONS = [
  { version: '1', limitBytes: 128 * MiB, peakBytes: Math.round(8.46 * MiB) },
  { version: '2', limitBytes: 256 * MiB, peakBytes: Math.round(5.23 * MiB) },
];

export interface PageData {
  /** Traces rooted in ping (ping calls pong), then those rooted in pong. */
  pingTraceIds: string[];
  pongTraceIds: string[];
}

type Send = (tracers: Record<string, Tracer>) => void;

/** Sends the spans send starts, one provider (resource) per entry of resources. */
async function sendWith(otlpHttp: string, resources: Record<string, Attributes>, send: Send) {
  const providers = Object.entries(resources).map(
    ([name, attrs]) =>
      [
        name,
        new BasicTracerProvider({
          resource: resourceFromAttributes(attrs),
          spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${otlpHttp}/v1/traces` }))],
        }),
      ] as const,
  );
  send(Object.fromEntries(providers.map(([name, p]) => [name, p.getTracer('coldtrace-e2e')])));
  await Promise.all(providers.map(([, p]) => p.forceFlush()));
  await Promise.all(providers.map(([, p]) => p.shutdown()));
}

/** One trace: caller's server span calling callee's server span; its trace id. */
function rally(tracers: Record<string, Tracer>, caller: string, callee: string, start: number): string {
  const root = tracers[caller].startSpan(`GET /${caller}`, {
    kind: SpanKind.SERVER,
    startTime: start,
    attributes: { [RALLY_KEY]: caller },
  });
  tracers[callee]
    .startSpan(`GET /${callee}`, { kind: SpanKind.SERVER, startTime: start + 5 }, trace.setSpan(context.active(), root))
    .end(start + 15);
  root.end(start + 20);
  return root.spanContext().traceId;
}

export async function sendPageData(otlpHttp: string, now = Date.now()): Promise<PageData> {
  const data: PageData = { pingTraceIds: [], pongTraceIds: [] };
  const start = now - 2 * 60_000;
  await sendWith(
    otlpHttp,
    { ping: { 'service.name': 'ping' }, pong: { 'service.name': 'pong' } },
    (tracers) => {
      for (let i = 0; i < 3; i++) data.pingTraceIds.push(rally(tracers, 'ping', 'pong', start + i * 100));
      for (let i = 0; i < 7; i++) data.pongTraceIds.push(rally(tracers, 'pong', 'ping', start + 1_000 + i * 100));
    },
  );
  await sendWith(otlpHttp, { pager: { 'service.name': PAGER_SERVICE } }, ({ pager }) => {
    for (let i = 0; i < PAGER_TRACES; i++) {
      pager.startSpan(`GET /page/${i}`, { kind: SpanKind.SERVER, startTime: start + i * 50 }).end(start + i * 50 + 10);
    }
  });
  const versions = Object.fromEntries(
    MEMORY_VERSIONS.map((v) => [
      v.version,
      {
        'service.name': MEMORY_FUNCTION,
        'faas.name': MEMORY_FUNCTION,
        'faas.version': v.version,
        'faas.instance': `${MEMORY_FUNCTION}-${v.version}`,
        'faas.max_memory': v.limitBytes,
      },
    ]),
  );
  await sendWith(otlpHttp, versions, (tracers) => {
    MEMORY_VERSIONS.forEach((v, i) => {
      tracers[v.version]
        .startSpan(MEMORY_FUNCTION, {
          kind: SpanKind.SERVER,
          startTime: start + i * 1_000,
          attributes: {
            'faas.trigger': 'http',
            'faas.invocation_id': `${MEMORY_FUNCTION}-${v.version}-1`,
            'faas.coldstart': true,
            'coldtrace.billed_duration_ms': 100,
            'coldtrace.max_memory_used_bytes': v.peakBytes,
          },
        })
        .end(start + i * 1_000 + 100);
    });
  });
  return data;
}
