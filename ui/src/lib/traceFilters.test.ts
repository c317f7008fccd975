import { describe, expect, it } from 'vitest';
import { buildUrl } from '../api/client';
import { searchQuery } from '../api/hooks';
import { readFilters, validateFilters, writeFilters } from './traceFilters';

describe('trace search filters', () => {
  it('round-trip through the URL and keep the time range', () => {
    const f = {
      service: 'checkout',
      operation: 'GET /cart',
      minDuration: '100ms',
      coldStart: 'true',
      errorType: 'timeout',
      attrs: ['http.route=/cart', 'tenant=a=b'],
    };
    const p = writeFilters(new URLSearchParams('range=6h&service=old'), f);
    expect(p.get('range')).toBe('6h');
    expect(readFilters(p)).toEqual(f);
  });

  it('drop empty values and malformed attribute pairs', () => {
    expect(readFilters(new URLSearchParams('service=&status=%20&attr=novalue&attr==x&attr=k=v'))).toEqual({ attrs: ['k=v'] });
  });

  it('validate durations and attributes', () => {
    expect(validateFilters({ minDuration: '250ms', maxDuration: '1h30m' })).toBe('');
    expect(validateFilters({ minDuration: '1500000' })).toBe('');
    expect(validateFilters({ minDuration: 'fast' })).toMatch(/Min duration/);
    expect(validateFilters({ attrs: ['=x'] })).toMatch(/key=value/);
  });

  it('become the API query: attr.KEY=VALUE and now-relative windows', () => {
    const q = searchQuery({ service: 's', attrs: ['http.route=/a=b'] }, { kind: 'relative', last: '15m' }, 20);
    expect(q['attr.http.route']).toBe('/a=b');
    expect(q.start).toBe('now-900s');
    expect(q.end).toBe('now');
    expect(q.limit).toBe(20);
  });

  it('send resource.KEY filters as resource attribute filters', () => {
    const q = searchQuery({ attrs: ['resource.faas.version=3', 'resource.=x', 'url.path=/a'] }, { kind: 'relative', last: '1h' }, 20);
    expect(q['resource.faas.version']).toBe('3');
    expect(q['attr.resource.']).toBe('x');
    expect(q['attr.url.path']).toBe('/a');
    expect(Object.keys(q).filter((k) => k.startsWith('attr.resource.faas'))).toEqual([]);
  });

  it('send key= (has the key) as an empty attr.KEY', () => {
    const f = readFilters(new URLSearchParams('attr=q%3D&attr=resource.faas.version%3D'));
    expect(f.attrs).toEqual(['q=', 'resource.faas.version=']);
    expect(validateFilters(f)).toBe('');
    const url = new URL(buildUrl('/traces', searchQuery(f, { kind: 'relative', last: '1h' }, 20)), 'http://x');
    expect(url.searchParams.getAll('attr.q')).toEqual(['']);
    expect(url.searchParams.getAll('resource.faas.version')).toEqual(['']);
    expect(url.searchParams.has('service')).toBe(false);
  });

  it('refuse two filters on the same key, which the API takes once', () => {
    const msg = validateFilters(readFilters(new URLSearchParams('attr=q%3Dzzz&attr=q%3Da%3Db')));
    expect(msg).toMatch(/"q=zzz" and "q=a=b" are on the same key/);
    expect(validateFilters({ attrs: ['q=1', ' q =2'] })).toMatch(/same key/);
    expect(validateFilters({ attrs: ['resource.q=1', 'q=1', 'resource.=1'] })).toBe('');
  });
});
