// Turns the API's spans into the waterfall's span model.
import { formatBytes, formatCost, formatDuration } from '../lib/format';
import type { SpanStatus, WaterfallSpan } from '../lib/spanTree';
import type { Attribute, Span, Trace } from './types';

const NS_PER_MS = 1e6;

/** An attribute value as text: strings as they are, everything else as JSON. */
export function attributeText(a: Attribute): string {
  return typeof a.value === 'string' ? a.value : JSON.stringify(a.value);
}

export function attributeMap(attrs: Attribute[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of attrs ?? []) out[a.key] = attributeText(a);
  return out;
}

const STATUS: Record<string, SpanStatus> = { ok: 'OK', error: 'ERROR', unset: 'UNSET' };

/** Difference a - b of two decimal unix-nanosecond strings, in milliseconds, without losing precision. */
export function nanoDiffMs(a: string, b: string): number {
  try {
    return Number(BigInt(a) - BigInt(b)) / NS_PER_MS;
  } catch {
    return 0;
  }
}

export function toWaterfallSpan(s: Span): WaterfallSpan {
  const attributes = attributeMap(s.attributes);
  const startMs = s.offsetNano / NS_PER_MS;
  const facts: [string, string][] = [];
  if (s.faas) {
    const f = s.faas;
    facts.push(['Function', f.version ? `${f.function} (version ${f.version})` : f.function]);
    if (f.trigger) facts.push(['Trigger', f.trigger]);
    if (f.instance) facts.push(['Instance', f.instance]);
    if (f.initDurationNano) facts.push(['Init duration', formatDuration(f.initDurationNano / NS_PER_MS)]);
    facts.push(['Billed duration', formatDuration(f.billedDurationNano / NS_PER_MS)]);
    if (f.timeoutNano) facts.push(['Timeout', formatDuration(f.timeoutNano / NS_PER_MS)]);
    if (f.memoryLimitBytes || f.maxMemoryUsedBytes) {
      facts.push(['Memory', `${formatBytes(f.maxMemoryUsedBytes)} of ${formatBytes(f.memoryLimitBytes)}`]);
    }
    facts.push(['Estimated cost', formatCost(f.costUsd)]);
  }
  return {
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    name: s.name,
    service: s.service,
    kind: s.kind,
    startMs,
    durationMs: s.durationNano / NS_PER_MS,
    status: STATUS[s.status?.code] ?? 'UNSET',
    statusMessage: s.status?.message ?? '',
    coldStart: s.faas?.coldStart ?? attributes['faas.coldstart'] === 'true',
    errorType: s.faas?.errorType || attributes['error.type'] || '',
    facts,
    attributes,
    resource: attributeMap(s.resource?.attributes),
    events: (s.events ?? []).map((e) => ({
      name: e.name,
      timeMs: startMs + nanoDiffMs(e.timeUnixNano, s.startTimeUnixNano),
      attributes: attributeMap(e.attributes),
    })),
    links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attributeMap(l.attributes) })),
  };
}

export function traceSpans(t: Trace): WaterfallSpan[] {
  return t.spans.map(toWaterfallSpan);
}
