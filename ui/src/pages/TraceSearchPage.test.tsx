import { afterEach, describe, expect, it } from 'vitest';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { QueryClientProvider } from '@tanstack/react-query';
import { createMemoryRouter, MemoryRouter, RouterProvider } from 'react-router';
import { vi } from 'vitest';
import { routes } from '../App';
import { failure, fakeApi, oneSpanTrace, STATUS, testQueryClient, traceSummary, WINDOW } from '../test/api';
import { withWaterfallViewport } from '../test/viewport';
import TraceSearchPage from './TraceSearchPage';

withWaterfallViewport();

function renderAt(url: string) {
  render(
    <QueryClientProvider client={testQueryClient()}>
      <MemoryRouter initialEntries={[url]}>
        <TraceSearchPage />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

/** The whole app at url, with a router the test can navigate. */
function renderApp(url: string) {
  const queryClient = testQueryClient();
  const router = createMemoryRouter(routes(queryClient), { initialEntries: [url] });
  render(
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return router;
}

const TRACE_ID = 'a'.repeat(32);

function serveOneTrace() {
  return fakeApi({
    '/status': () => STATUS,
    '/services': () => ({ window: WINDOW, services: [] }),
    '/attributes': () => ({ window: WINDOW, attributes: [] }),
    '/services/slow/operations': () => ({ window: WINDOW, operations: [] }),
    '/traces': () => ({ window: WINDOW, traces: [traceSummary(TRACE_ID, 'slow')] }),
    [`/traces/${TRACE_ID}`]: () => oneSpanTrace(TRACE_ID),
  });
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

  it("returns from a trace to the search it was opened from, filters and all", async () => {
    serveOneTrace();
    const search = '?range=15m&service=slow&status=error';
    renderApp(`/traces${search}`);
    fireEvent.click(await screen.findByRole('link', { name: /GET \/cart/ }));
    const breadcrumb = () => within(screen.getByRole('navigation', { name: 'Breadcrumbs' })).getByRole('link', { name: 'Traces' });
    await screen.findByRole('tree');
    expect(breadcrumb().getAttribute('href')).toBe(`/traces${search}`);

    // Selecting a span rewrites the URL, not where the breadcrumb goes.
    fireEvent.click(screen.getAllByRole('treeitem')[0]);
    await screen.findByRole('button', { name: 'Close span details' });
    expect(breadcrumb().getAttribute('href')).toBe(`/traces${search}`);
  });

  it('keeps unapplied edits in the form when the time range changes', async () => {
    serveOneTrace();
    const router = renderApp('/traces?range=15m&service=slow');
    const operation = await screen.findByLabelText('Operation');
    fireEvent.change(operation, { target: { value: 'GET /typed' } });

    await act(() => router.navigate('/traces?range=6h&service=slow'));
    expect((screen.getByLabelText('Operation') as HTMLInputElement).value).toBe('GET /typed');

    // A URL with other filters (a link, the back button) still shows what it says.
    await act(() => router.navigate('/traces?range=6h&service=slow&operation=GET%20%2Fother'));
    expect((screen.getByLabelText('Operation') as HTMLInputElement).value).toBe('GET /other');
  });
});
