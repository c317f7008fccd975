import { describe, expect, it } from 'vitest';
import { attributeText, nanoDiffMs, toWaterfallSpan } from './spans';
import type { Span } from './types';

const base: Span = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: 'b7ad6b7169203331',
  parentSpanId: '00f067aa0ba902b7',
  name: 'checkout',
  kind: 'server',
  service: 'checkout',
  startTimeUnixNano: '1793527200123456789',
  startTime: '2026-11-01T10:00:00.123456789Z',
  offsetNano: 2_500_000,
  durationNano: 400_000_000,
  status: { code: 'error', message: 'Task timed out' },
  attributes: [
    { key: 'faas.coldstart', type: 'bool', value: true },
    { key: 'http.response.status_code', type: 'int', value: 504 },
    { key: 'tags', type: 'array', value: ['a', 'b'] },
  ],
  resource: { attributes: [{ key: 'faas.name', type: 'string', value: 'checkout' }] },
  scope: { name: 'coldtrace' },
  events: [{ name: 'exception', timeUnixNano: '1793527200124456789', time: '', attributes: null }],
  links: null,
  faas: {
    function: 'checkout',
    version: '3',
    instance: 'i-1',
    trigger: 'http',
    coldStart: true,
    errorType: 'timeout',
    initDurationNano: 180_000_000,
    billedDurationNano: 581_000_000,
    maxMemoryUsedBytes: 64 << 20,
    memoryLimitBytes: 128 << 20,
    timeoutNano: 400_000_000,
    costUsd: 0.0000012,
  },
};

describe('API spans to waterfall spans', () => {
  it('keeps timing relative to the trace start', () => {
    const w = toWaterfallSpan(base);
    expect(w.startMs).toBe(2.5);
    expect(w.durationMs).toBe(400);
    // The event is 1 ms after the span's start: exact despite 19-digit nanosecond strings.
    expect(w.events[0].timeMs).toBeCloseTo(3.5, 9);
  });

  it('stringifies typed attribute values', () => {
    const w = toWaterfallSpan(base);
    expect(w.attributes).toEqual({ 'faas.coldstart': 'true', 'http.response.status_code': '504', tags: '["a","b"]' });
    expect(w.resource['faas.name']).toBe('checkout');
    expect(attributeText({ key: 'k', type: 'string', value: 'x' })).toBe('x');
  });

  it('carries the invocation: cold start, error type, status and billing facts', () => {
    const w = toWaterfallSpan(base);
    expect(w.coldStart).toBe(true);
    expect(w.errorType).toBe('timeout');
    expect(w.status).toBe('ERROR');
    expect(w.statusMessage).toBe('Task timed out');
    const facts = Object.fromEntries(w.facts);
    expect(facts['Init duration']).toBe('180 ms');
    expect(facts['Memory']).toBe('64 MiB of 128 MiB');
    expect(w.links).toEqual([]);
  });

  it('falls back to attributes for spans from other tools', () => {
    const w = toWaterfallSpan({
      ...base,
      faas: undefined,
      attributes: [
        { key: 'faas.coldstart', type: 'bool', value: true },
        { key: 'error.type', type: 'string', value: 'crash' },
      ],
    });
    expect(w.coldStart).toBe(true);
    expect(w.errorType).toBe('crash');
    expect(w.facts).toEqual([]);
  });

  it('subtracts nanosecond strings exactly', () => {
    expect(nanoDiffMs('1793527200123456789', '1793527200123456788')).toBe(0.000001);
    expect(nanoDiffMs('garbage', '1')).toBe(0);
  });
});
