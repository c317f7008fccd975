import { describe, expect, it } from 'vitest';
import { formatBytes, formatCost, formatCount, formatDuration, formatPercent } from './format';

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
