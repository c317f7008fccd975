import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import type { Instance } from '../api/types';
import { InstanceTimeline } from './InstanceTimeline';

const window = {
  startUnixNano: '1793523600000000000',
  start: '2026-11-01T09:00:00Z',
  endUnixNano: '1793527200000000000',
  end: '2026-11-01T10:00:00Z',
};

function instance(peakMemoryBytes: number, memoryUsedRatio: number | null): Instance {
  return {
    instance: '2026/11/01/[1]3423f78d',
    version: '1',
    firstSeenUnixNano: '1793524000000000000',
    firstSeen: '2026-11-01T09:06:40Z',
    lastSeenUnixNano: '1793525000000000000',
    lastSeen: '2026-11-01T09:23:20Z',
    invocations: 2,
    errors: 0,
    coldStart: null,
    peakMemoryBytes,
    memoryLimitBytes: 134217728,
    memoryUsedRatio,
  };
}

describe('InstanceTimeline', () => {
  afterEach(cleanup);

  it('says a peak memory nobody reported is unknown, not 0 B', () => {
    render(
      <MemoryRouter>
        <InstanceTimeline instances={[instance(0, null)]} window={window} />
      </MemoryRouter>,
    );
    expect(screen.queryByText(/0 B/)).toBeNull();
    expect(screen.getByText(/–/)).toBeTruthy();
  });

  it('shows a reported peak against the limit', () => {
    render(
      <MemoryRouter>
        <InstanceTimeline instances={[instance(67108864, 0.5)]} window={window} />
      </MemoryRouter>,
    );
    expect(screen.getByText(/64 MiB of 128 MiB/)).toBeTruthy();
  });
});
