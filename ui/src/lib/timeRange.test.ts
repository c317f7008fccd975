import { describe, expect, it } from 'vitest';
import { readRange, relativeMs, resolveRange, stepSeconds, writeRange } from './timeRange';

describe('time range in the URL', () => {
  it('reads relative and absolute ranges', () => {
    expect(readRange(new URLSearchParams('range=15m'))).toEqual({ kind: 'relative', last: '15m' });
    expect(readRange(new URLSearchParams('from=1000&to=2000'))).toEqual({ kind: 'absolute', from: 1000, to: 2000 });
    expect(readRange(new URLSearchParams('from=2026-11-01T10:00:00Z&to=2026-11-01T11:00:00Z'))).toEqual({
      kind: 'absolute',
      from: Date.parse('2026-11-01T10:00:00Z'),
      to: Date.parse('2026-11-01T11:00:00Z'),
    });
  });

  it('falls back to the last hour on anything malformed', () => {
    for (const q of ['range=forever', 'range=0m', 'range=-5m', 'from=2000&to=1000', 'from=x&to=y', 'range=99999999d', '']) {
      expect(readRange(new URLSearchParams(q))).toEqual({ kind: 'relative', last: '1h' });
    }
  });

  it('writes a range, replacing the previous one and keeping other parameters', () => {
    const p = writeRange(new URLSearchParams('service=a&from=1&to=2'), { kind: 'relative', last: '6h' });
    expect(p.toString()).toBe('service=a&range=6h');
    const q = writeRange(p, { kind: 'absolute', from: 10, to: 20 });
    expect(q.get('range')).toBeNull();
    expect([q.get('from'), q.get('to'), q.get('service')]).toEqual(['10', '20', 'a']);
  });

  it('resolves relative ranges against now', () => {
    const r = resolveRange({ kind: 'relative', last: '5m' }, 1_000_000);
    expect(r.to.getTime() - r.from.getTime()).toBe(300_000);
    expect(relativeMs('7d')).toBe(7 * 86400e3);
  });

  it('picks a whole-minute step', () => {
    const r = resolveRange({ kind: 'relative', last: '24h' }, Date.now());
    expect(stepSeconds(r) % 60).toBe(0);
    expect((24 * 3600) / stepSeconds(r)).toBeLessThanOrEqual(60);
  });
});
