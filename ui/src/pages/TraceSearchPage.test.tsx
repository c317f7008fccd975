import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/react';
import { QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router';
import { vi } from 'vitest';
import { failure, fakeApi, testQueryClient, traceSummary, WINDOW } from '../test/api';
import TraceSearchPage from './TraceSearchPage';

function renderAt(url: string) {
  render(
    <QueryClientProvider client={testQueryClient()}>
      <MemoryRouter initialEntries={[url]}>
        <TraceSearchPage />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

const rows = () => within(screen.getByRole('table', { name: 'Matching traces' })).getAllByRole('link');

describe('trace search', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('keeps the rows shown when loading more fails, and retries from there', async () => {
    let nextPageUp = false;
    fakeApi({
      '/services': () => ({ window: WINDOW, services: [] }),
      '/attributes': () => ({ window: WINDOW, attributes: [] }),
      '/traces': (url) => {
        if (!url.searchParams.get('cursor')) {
          return { window: WINDOW, traces: [traceSummary('a1'), traceSummary('a2')], nextCursor: 'page2' };
        }
        if (!nextPageUp) return failure(503, 'ClickHouse is unreachable');
        return { window: WINDOW, traces: [traceSummary('b1')] };
      },
    });
    renderAt('/traces?range=1h');
    await screen.findByText('2 traces so far, newest first');

    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/ClickHouse is unreachable/);
    expect(rows()).toHaveLength(2);
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();

    nextPageUp = true;
    fireEvent.click(within(alert).getByRole('button', { name: 'Try again' }));
    await screen.findByText('3 traces, newest first');
    expect(rows()).toHaveLength(3);
    expect(screen.queryByRole('alert')).toBeNull();
  });
});
