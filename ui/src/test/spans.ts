import type { WaterfallSpan } from '../lib/spanTree';

/** A span for tests: id, parent, start and duration in ms from the trace's start. */
export function span(id: string, parent: string, startMs: number, durationMs: number, extra: Partial<WaterfallSpan> = {}): WaterfallSpan {
  return {
    spanId: id,
    parentSpanId: parent,
    name: id,
    service: 'svc',
    kind: 'internal',
    startMs,
    durationMs,
    status: 'UNSET',
    statusMessage: '',
    coldStart: false,
    errorType: '',
    facts: [],
    attributes: {},
    resource: {},
    events: [],
    links: [],
    ...extra,
  };
}
