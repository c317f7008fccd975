import { describe, expect, it } from 'vitest';
import { counted, formatBytes, formatCost, formatCount, formatDuration, formatPercent, instanceLabel } from './format';

describe('formatting', () => {
  it('durations pick a readable unit', () => {
    expect(formatDuration(0.25)).toBe('250 µs');
    expect(formatDuration(12.345)).toBe('12.3 ms');
    expect(formatDuration(1500)).toBe('1.5 s');
    expect(formatDuration(90_000)).toBe('1.5 min');
    expect(formatDuration(null)).toBe('–');
    expect(formatDuration(NaN)).toBe('–');
  });

  it('counts, percentages, bytes and money', () => {
    expect(formatCount(999)).toBe('999');
    expect(formatCount(12_500)).toBe('12.5k');
    expect(formatPercent(0.1234)).toBe('12.3%');
    expect(formatPercent(0.0001)).toBe('<0.1%');
    expect(formatBytes(128 * 1024 * 1024)).toBe('128 MiB');
    expect(formatCost(0.0000069)).toBe('$0.0000069');
    expect(formatCost(9.5e-7)).toBe('$0.00000095');
    expect(formatCost(12.345)).toBe('$12.35');
  });
});

describe('names and counts', () => {
  it('labels an instance by what tells it apart', () => {
    expect(instanceLabel('2026/11/27/[1]3423f78d9c0e4b1f8a2b6c7d8e9f0a1b')).toBe('3423f78d');
    expect(instanceLabel('2021/06/28/[$LATEST]2f399eb14537447da05ab2a2e39309de')).toBe('2f399eb1');
    expect(instanceLabel('i-short')).toBe('i-short');
    expect(instanceLabel('host-1.example.com/worker-17')).toBe('…om/worker-17');
  });
  it('counts in the singular and the plural', () => {
    expect(counted(1, 'invocation')).toBe('1 invocation');
    expect(counted(0, 'error')).toBe('0 errors');
    expect(counted(12345, 'call')).toBe('12,345 calls');
  });
});
