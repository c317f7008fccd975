// Sends real spans to a running Coldtrace over OTLP/HTTP with the
// OpenTelemetry JS SDK: function invocations shaped like the runtime's
// (cold starts with an `init` child, timeouts, a crash), calls from a
// function to a plain service (for the service map), and one trace of
// 10,000 spans. Returns what was sent, so tests know what to expect.
import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface FunctionFacts {
  name: string;
  version: string;
  invocations: number;
  coldStarts: number;
  timeouts: number;
  errors: number;
  instances: number;
}

export interface SentData {
  functions: FunctionFacts[];
  /** The function whose cold starts the tests open. */
  coldFunction: string;
  /** Trace ids of invocations whose span carries http.route = searchRoute. */
  searchRoute: string;
  searchTraceIds: string[];
  bigTraceId: string;
  bigTraceSpans: number;
  /** Service pairs (caller → callee) the service map must show. */
  edges: [string, string][];
}

type Providers = Map<string, { provider: BasicTracerProvider; resource: Record<string, string | number> }>;

function providerFor(providers: Providers, otlpHttp: string, resource: Record<string, string | number>) {
  const key = JSON.stringify(resource);
  let p = providers.get(key);
  if (!p) {
    const exporter = new OTLPTraceExporter({ url: `${otlpHttp}/v1/traces`, timeoutMillis: 60_000 });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes(resource),
      spanProcessors: [
        new BatchSpanProcessor(exporter, { maxQueueSize: 50_000, maxExportBatchSize: 2_000, scheduledDelayMillis: 200 }),
      ],
    });
    p = { provider, resource };
    providers.set(key, p);
  }
  return p.provider.getTracer('coldtrace-e2e', '1.0.0');
}

// A deterministic pseudo-random sequence, so every run sends the same shapes.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const MiB = 1024 * 1024;

export async function sendSpans(otlpHttp: string, now: number = Date.now()): Promise<SentData> {
  const providers: Providers = new Map();
  const rand = rng(42);
  const searchRoute = '/cart';
  const searchTraceIds: string[] = [];
  const functions: FunctionFacts[] = [];

  // Function invocations as the runtime emits them (DESIGN.md: "Spans the runtime emits").
  const invoke = (
    fn: { name: string; version: string; memory: number; timeoutMs: number; trigger: string; kind: SpanKind },
    instance: string,
    at: number,
    opts: { cold: boolean; durationMs: number; errorType?: string; route?: string; callsInventory?: boolean },
  ) => {
    const tracer = providerFor(providers, otlpHttp, {
      'service.name': fn.name,
      'faas.name': fn.name,
      'faas.version': fn.version,
      'faas.instance': instance,
      'faas.max_memory': fn.memory,
      'cloud.provider': 'coldtrace',
    });
    const initMs = opts.cold ? 120 + Math.round(rand() * 300) : 0;
    const total = initMs + opts.durationMs;
    const attrs: Record<string, string | number | boolean> = {
      'faas.invocation_id': `${instance}-${at}`,
      'faas.trigger': fn.trigger,
      'faas.coldstart': opts.cold,
      'coldtrace.billed_duration_ms': Math.ceil(total),
      'coldtrace.max_memory_used_bytes': Math.round(fn.memory * (0.3 + rand() * 0.4)),
      'coldtrace.timeout_ms': fn.timeoutMs,
    };
    if (opts.cold) attrs['coldtrace.init_duration_ms'] = initMs;
    if (opts.errorType) attrs['error.type'] = opts.errorType;
    if (opts.route) {
      attrs['http.route'] = opts.route;
      attrs['http.request.method'] = 'POST';
    }
    const inv = tracer.startSpan(fn.name, { kind: fn.kind, startTime: at, attributes: attrs });
    const ctx = trace.setSpan(context.active(), inv);
    if (opts.cold) {
      tracer.startSpan('init', { kind: SpanKind.INTERNAL, startTime: at }, ctx).end(at + initMs);
    }
    const handlerStart = at + initMs;
    const handler = tracer.startSpan('handler', { kind: SpanKind.INTERNAL, startTime: handlerStart + 1 }, ctx);
    if (opts.callsInventory) {
      const hctx = trace.setSpan(ctx, handler);
      const callStart = handlerStart + 5;
      const callMs = Math.min(40 + Math.round(rand() * 60), Math.max(opts.durationMs - 10, 1));
      const client = tracer.startSpan('GET /inventory/{sku}', {
        kind: SpanKind.CLIENT,
        startTime: callStart,
        attributes: { 'http.request.method': 'GET', 'server.address': 'inventory' },
      }, hctx);
      const inventory = providerFor(providers, otlpHttp, { 'service.name': 'inventory', 'service.version': '4.2.0' });
      const server = inventory.startSpan('GET /inventory/{sku}', {
        kind: SpanKind.SERVER,
        startTime: callStart + 2,
        attributes: { 'http.route': '/inventory/{sku}', 'http.response.status_code': 200 },
      }, trace.setSpan(context.active(), client));
      const sctx = trace.setSpan(context.active(), server);
      inventory
        .startSpan('SELECT stock', { kind: SpanKind.CLIENT, startTime: callStart + 4, attributes: { 'db.system.name': 'postgresql' } }, sctx)
        .end(callStart + callMs - 6);
      server.end(callStart + callMs - 2);
      client.end(callStart + callMs);
    }
    if (opts.errorType) {
      const message = opts.errorType === 'timeout' ? `Task timed out after ${fn.timeoutMs} ms` : 'handler crashed';
      handler.recordException({ name: 'Error', message }, handlerStart + opts.durationMs - 1);
      handler.setStatus({ code: SpanStatusCode.ERROR, message });
      inv.setStatus({ code: SpanStatusCode.ERROR, message });
    }
    handler.end(handlerStart + opts.durationMs - 1);
    inv.end(at + total);
    return inv.spanContext().traceId;
  };

  // checkout: 3 instances, 24 invocations over the last 20 minutes, each
  // instance's first invocation cold, two timeouts, a third of the
  // invocations on route /cart.
  const checkout = { name: 'checkout', version: '1', memory: 256 * MiB, timeoutMs: 3000, trigger: 'http', kind: SpanKind.SERVER };
  const cf: FunctionFacts = { name: 'checkout', version: '1', invocations: 0, coldStarts: 0, timeouts: 0, errors: 0, instances: 3 };
  const started = new Set<string>();
  for (let i = 0; i < 24; i++) {
    const instance = `checkout-${['a1', 'b2', 'c3'][i < 3 ? i : i % 3]}`;
    const cold = !started.has(instance);
    started.add(instance);
    const timeout = i === 10 || i === 17;
    const route = i % 3 === 0 ? searchRoute : '/checkout';
    const at = now - 20 * 60_000 + i * 48_000 + Math.round(rand() * 5_000);
    const traceId = invoke(checkout, instance, at, {
      cold,
      durationMs: timeout ? checkout.timeoutMs : 60 + Math.round(rand() * 200),
      errorType: timeout ? 'timeout' : undefined,
      route,
      callsInventory: !timeout,
    });
    if (route === searchRoute) searchTraceIds.push(traceId);
    cf.invocations++;
    if (cold) cf.coldStarts++;
    if (timeout) {
      cf.timeouts++;
      cf.errors++;
    }
  }
  functions.push(cf);

  // resize-image: a queue-triggered function, one instance, one crash.
  const resize = { name: 'resize-image', version: '2', memory: 512 * MiB, timeoutMs: 10_000, trigger: 'pubsub', kind: SpanKind.CONSUMER };
  const rf: FunctionFacts = { name: 'resize-image', version: '2', invocations: 0, coldStarts: 0, timeouts: 0, errors: 0, instances: 1 };
  for (let i = 0; i < 8; i++) {
    const crash = i === 5;
    invoke(resize, 'resize-image-z9', now - 15 * 60_000 + i * 90_000, {
      cold: i === 0,
      durationMs: 300 + Math.round(rand() * 700),
      errorType: crash ? 'crash' : undefined,
    });
    rf.invocations++;
    if (i === 0) rf.coldStarts++;
    if (crash) rf.errors++;
  }
  functions.push(rf);

  // One trace of 10,000 spans across four services, for the waterfall.
  const bigServices = ['batch-report', 'storage', 'warehouse-db', 'cache'];
  const bigTracers = bigServices.map((s) => providerFor(providers, otlpHttp, { 'service.name': s }));
  const bigStart = now - 5 * 60_000;
  const bigSpans = 10_000;
  const root = bigTracers[0].startSpan('nightly report', { kind: SpanKind.SERVER, startTime: bigStart, attributes: { 'report.kind': 'nightly' } });
  const bigTraceId = root.spanContext().traceId;
  // Breadth-first fan-out of 10 children per span: 1 + 10 + 100 + 1000 + 8889,
  // one service per level below the first (report → storage → database → cache).
  const queue: { span: Span; start: number; end: number; depth: number }[] = [{ span: root, start: bigStart, end: bigStart + 8_000, depth: 0 }];
  const toEnd: { span: Span; end: number }[] = [];
  let made = 1;
  for (let q = 0; q < queue.length && made < bigSpans; q++) {
    const parent = queue[q];
    const slot = (parent.end - parent.start) / 10;
    for (let c = 0; c < 10 && made < bigSpans; c++, made++) {
      const svc = Math.min(parent.depth, bigServices.length - 1);
      const start = parent.start + c * slot + slot * 0.05;
      const end = start + slot * (0.5 + rand() * 0.4);
      const span = bigTracers[svc].startSpan(
        `${['render', 'read', 'query', 'lookup'][svc]} part ${made}`,
        { kind: svc === 0 ? SpanKind.INTERNAL : SpanKind.CLIENT, startTime: start, attributes: { 'part.index': made } },
        trace.setSpan(context.active(), parent.span),
      );
      queue.push({ span, start, end, depth: parent.depth + 1 });
      toEnd.push({ span, end });
    }
  }
  toEnd.forEach(({ span, end }) => span.end(end));
  root.end(bigStart + 8_000);

  for (const { provider } of providers.values()) await provider.forceFlush();
  await Promise.all([...providers.values()].map(({ provider }) => provider.shutdown()));

  return {
    functions,
    coldFunction: 'checkout',
    searchRoute,
    searchTraceIds,
    bigTraceId,
    bigTraceSpans: made,
    edges: [
      ['checkout', 'inventory'],
      ['batch-report', 'storage'],
      ['storage', 'warehouse-db'],
    ],
  };
}
