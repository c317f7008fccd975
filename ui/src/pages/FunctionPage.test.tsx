import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import type { FunctionSummary } from '../api/types';
import { Stats } from './FunctionPage';

const MiB = 1024 * 1024;

function version(v: string, peakMiB: number, limitMiB: number): FunctionSummary {
  return {
    name: 'python-hello',
    version: v,
    invocations: 10,
    coldStarts: 1,
    coldStartRate: 0.1,
    initDuration: null,
    duration: null,
    avgDurationNano: 1e6,
    timeouts: 0,
    errors: 0,
    errorsByType: { timeout: 0, out_of_memory: 0, crash: 0, handler_error: 0, init_error: 0, other: 0 },
    throttles: 0,
    billedDurationNano: 1e7,
    billedGbSeconds: 0.001,
    cost: { computeUsd: 0, requestsUsd: 0, totalUsd: 0 },
    maxMemoryUsedBytes: Math.round(peakMiB * MiB),
    memoryLimitBytes: limitMiB * MiB,
  };
}

/** The peak memory card: its figure and the line under it. */
function peakCard() {
  const dd = screen.getByText('Peak memory').closest('.stat-card')!.querySelector('dd')!;
  const sub = dd.querySelector('.small')?.textContent ?? '';
  return { value: dd.textContent!.slice(0, dd.textContent!.length - sub.length), sub };
}

describe('function stats', () => {
  it('show the peak memory against the limit of the version that had it', () => {
    render(<Stats rows={[version('1', 8.46, 128), version('2', 5.23, 256)]} />);
    expect(peakCard()).toEqual({ value: '8.46 MiB', sub: 'of 128 MiB (version 1)' });
  });

  it('show one version’s peak against its limit', () => {
    render(<Stats rows={[version('2', 5.23, 256)]} />);
    expect(peakCard()).toEqual({ value: '5.23 MiB', sub: 'of 256 MiB' });
  });
});
