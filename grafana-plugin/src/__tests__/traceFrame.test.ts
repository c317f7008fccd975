import { DataFrameView, FieldType, TraceKeyValuePair, TraceSpanRow, dataFrameFromJSON } from '@grafana/data';

import { goldenResponse } from '../testing/fixtures';

// The trace frame contract: what Explore's trace view reads from a frame
// (TraceSpanRow through DataFrameView), checked on the frame the Go backend
// really produced for the seeded cold-start trace.
describe('trace frame from the backend', () => {
  const response = goldenResponse('trace');
  const frame = dataFrameFromJSON(response.frames[0]);
  const spans = new DataFrameView<TraceSpanRow>(frame).toArray();
  const byName = (name: string) => spans.find((s) => s.operationName === name)!;

  it('asks for the trace view', () => {
    expect(response.status).toBe(200);
    expect(frame.meta?.preferredVisualisationType).toBe('trace');
  });

  it('has the fields of TraceSpanRow with their types', () => {
    const types = Object.fromEntries(frame.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      traceID: FieldType.string,
      spanID: FieldType.string,
      parentSpanID: FieldType.string,
      operationName: FieldType.string,
      serviceName: FieldType.string,
      startTime: FieldType.number,
      duration: FieldType.number,
      statusCode: FieldType.number,
      kind: FieldType.string,
      serviceTags: FieldType.other,
      tags: FieldType.other,
      logs: FieldType.other,
      references: FieldType.other,
    });
  });

  it('links every span to a parent in the trace, one root', () => {
    expect(spans).toHaveLength(5);
    const ids = new Set(spans.map((s) => s.spanID));
    const roots = spans.filter((s) => !s.parentSpanID);
    expect(roots.map((s) => s.operationName)).toEqual(['GET /checkout']);
    for (const s of spans) {
      expect(s.spanID).toMatch(/^[0-9a-f]{16}$/);
      expect(s.traceID).toBe(spans[0].traceID);
      if (s.parentSpanID) {
        expect(ids.has(s.parentSpanID)).toBe(true);
      }
    }
    expect(byName('init').parentSpanID).toBe(byName('checkout').spanID);
  });

  it('gives times in milliseconds', () => {
    const root = byName('GET /checkout');
    const inv = byName('checkout');
    // Epoch milliseconds (the golden file is rebased to 2026-01-01).
    expect(new Date(root.startTime).toISOString()).toBe('2026-01-01T00:00:09.995Z');
    expect(inv.startTime - root.startTime).toBeCloseTo(5, 6);
    expect(byName('init').duration).toBeCloseTo(120.5, 6);
    for (const s of spans) {
      expect(s.startTime).toBeGreaterThanOrEqual(root.startTime);
      expect(s.startTime + s.duration).toBeLessThanOrEqual(root.startTime + root.duration + 1e-6);
    }
  });

  it('carries serverless attributes as typed tags', () => {
    const inv = byName('checkout');
    const tags = Object.fromEntries((inv.tags as TraceKeyValuePair[]).map((t) => [t.key, t.value]));
    expect(tags['faas.coldstart']).toBe(true);
    expect(tags['faas.trigger']).toBe('http');
    expect(tags['coldtrace.init_duration_ms']).toBe(120.5);
    expect(tags['coldtrace.cost_usd']).toBeGreaterThan(0);
    const resource = Object.fromEntries(inv.serviceTags.map((t) => [t.key, t.value]));
    expect(resource).toMatchObject({ 'faas.name': 'checkout', 'faas.version': 'v1', 'faas.instance': 'checkout-a', 'service.name': 'checkout' });
  });

  it('uses the trace view’s kinds, statuses, events and links', () => {
    expect(spans.map((s) => s.kind)).toEqual(['server', 'server', 'internal', 'client', 'server']);
    expect(spans.every((s) => s.statusCode === 0)).toBe(true);
    const inv = byName('checkout');
    expect(inv.logs).toHaveLength(1);
    expect(inv.logs![0].name).toBe('cart loaded');
    expect(inv.logs![0].timestamp).toBeGreaterThan(inv.startTime);
    expect(inv.logs![0].fields.map((f) => f.key).sort()).toEqual(['cart.cached', 'cart.items']);
    expect(inv.references).toEqual([
      { traceID: '0123456789abcdef0123456789abcdef', spanID: '0123456789abcdef', tags: [{ key: 'link.reason', value: 'retry of' }] },
    ]);
    expect(inv.instrumentationLibraryName).toBe('coldtrace.runtime');
  });
});

describe('other frames from the backend', () => {
  it('search results link each trace ID to the trace query', () => {
    const frame = dataFrameFromJSON(goldenResponse('search').frames[0]);
    expect(frame.meta?.preferredVisualisationType).toBe('table');
    const id = frame.fields.find((f) => f.name === 'traceID')!;
    expect(id.values.length).toBe(2);
    expect(id.config.links?.[0].internal).toEqual({
      datasourceUid: 'coldtrace-test',
      datasourceName: 'Coldtrace',
      query: { queryType: 'trace', traceId: '${__value.raw}' },
    });
    expect(frame.fields.find((f) => f.name === 'startTime')!.type).toBe(FieldType.time);
    expect(frame.fields.find((f) => f.name === 'coldStart')!.values).toEqual([true, true]);
  });

  it('metrics are labelled time series', () => {
    const frame = dataFrameFromJSON(goldenResponse('metrics').frames[0]);
    expect(frame.meta?.type).toBe('timeseries-multi');
    const [time, value] = frame.fields;
    expect(time.type).toBe(FieldType.time);
    expect(value.type).toBe(FieldType.number);
    expect(value.labels).toEqual({ function: 'checkout' });
    expect(value.values.reduce((a: number, b: number | null) => a + (b ?? 0), 0)).toBe(2);
  });

  it('the service map is a node graph', () => {
    const [nodes, edges] = goldenResponse('servicemap').frames.map((f) => dataFrameFromJSON(f));
    expect(nodes.name).toBe('nodes');
    expect(edges.name).toBe('edges');
    expect(nodes.meta?.preferredVisualisationType).toBe('nodeGraph');
    const col = (f: typeof nodes, name: string) => f.fields.find((x) => x.name === name)!.values;
    expect(col(nodes, 'id')).toEqual(['checkout', 'frontend', 'payments']);
    const ids = new Set(col(nodes, 'id'));
    for (const end of [...col(edges, 'source'), ...col(edges, 'target')]) {
      expect(ids.has(end)).toBe(true);
    }
  });
});
