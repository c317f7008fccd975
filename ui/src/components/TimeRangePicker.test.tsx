import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { TimeRangePicker } from './TimeRangePicker';

function setup(url: string) {
  const router = createMemoryRouter([{ path: '*', element: <TimeRangePicker /> }], { initialEntries: [url] });
  render(
    <QueryClientProvider client={new QueryClient()}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return router;
}

describe('TimeRangePicker', () => {
  it('shows the range from the URL and writes a chosen preset back, keeping other parameters', () => {
    const router = setup('/traces?service=checkout&range=15m');
    const button = screen.getByRole('button', { name: /Last 15 minutes/ });
    fireEvent.click(button);
    fireEvent.click(screen.getByRole('button', { name: 'Last 6 hours' }));
    const params = new URLSearchParams(router.state.location.search);
    expect(params.get('range')).toBe('6h');
    expect(params.get('service')).toBe('checkout');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.getByRole('button', { name: /Last 6 hours/ })).toBeTruthy();
  });

  it('applies a custom absolute range and refuses an inverted one', () => {
    const router = setup('/');
    fireEvent.click(screen.getByRole('button', { name: /Last hour/ }));
    const from = screen.getByLabelText('From') as HTMLInputElement;
    const to = screen.getByLabelText('To') as HTMLInputElement;
    fireEvent.change(from, { target: { value: '2026-11-01T12:00' } });
    fireEvent.change(to, { target: { value: '2026-11-01T10:00' } });
    fireEvent.click(screen.getByRole('button', { name: 'Apply' }));
    expect(screen.getByRole('alert').textContent).toMatch(/before/);
    fireEvent.change(to, { target: { value: '2026-11-01T13:30' } });
    fireEvent.click(screen.getByRole('button', { name: 'Apply' }));
    const params = new URLSearchParams(router.state.location.search);
    expect(Number(params.get('to')) - Number(params.get('from'))).toBe(90 * 60_000);
    expect(params.get('range')).toBeNull();
  });

  it('closes on Escape', () => {
    setup('/');
    fireEvent.click(screen.getByRole('button', { name: /Last hour/ }));
    expect(screen.getByRole('dialog')).toBeTruthy();
    fireEvent.keyDown(screen.getByRole('dialog'), { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
  });
});
