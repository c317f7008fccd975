import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { QueryClientProvider } from '@tanstack/react-query';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { routes } from './App';
import { fakeApi, STATUS, testQueryClient, traceSummary, WINDOW } from './test/api';

function renderAt(url: string) {
  const queryClient = testQueryClient();
  render(
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={createMemoryRouter(routes(queryClient), { initialEntries: [url] })} />
    </QueryClientProvider>,
  );
}

describe('a page that fails to render', () => {
  // React reports the error it caught; the test is about what the user sees.
  beforeEach(() => vi.spyOn(console, 'error').mockImplementation(() => {}));
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it('says what failed and keeps the navigation (an answer without its list)', async () => {
    fakeApi({ '/status': () => STATUS, '/functions': () => ({}) });
    renderAt('/?range=1h');
    const alert = await screen.findByRole('alert');
    expect(within(alert).getByText('This page could not be shown')).toBeTruthy();
    expect(alert.textContent).toMatch(/\/ failed: TypeError/);
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).getByRole('link', { name: 'Traces' })).toBeTruthy();
    expect(screen.queryByText(/Unexpected Application Error/)).toBeNull();
  });

  it('says what failed and keeps the navigation (a trace without its summary)', async () => {
    const { summary: _, ...trace } = { traceId: 'ab'.repeat(16), summary: traceSummary('ab'.repeat(16)), spans: [] };
    fakeApi({
      '/status': () => STATUS,
      [`/traces/${trace.traceId}`]: () => trace,
      '/services': () => ({ window: WINDOW, services: [] }),
    });
    renderAt(`/traces/${trace.traceId}`);
    const alert = await screen.findByRole('alert', {}, { timeout: 5000 });
    expect(alert.textContent).toMatch(new RegExp(`/traces/${trace.traceId} failed`));
    expect(screen.getByRole('navigation', { name: 'Main' })).toBeTruthy();
  });
});
