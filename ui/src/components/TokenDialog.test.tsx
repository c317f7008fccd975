import { describe, expect, it } from 'vitest';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { apiToken, closeTokenDialog, forgetApiToken, tokenRefused } from '../api/token';
import { TokenButton, TokenDialog } from './TokenDialog';

const STORAGE_KEY = 'coldtrace.apiToken';

function setup() {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <TokenButton />
      <TokenDialog />
    </QueryClientProvider>,
  );
}

// One sequence: the token's state lives in its module, as in the app.
describe('API token', () => {
  it('is asked for on a 401, kept, sent, refused, and forgotten', () => {
    setup();
    const dialog = () => screen.getByRole('dialog', { hidden: true });
    expect(dialog().hasAttribute('open')).toBe(false);
    expect(screen.queryByRole('button', { name: /token/ })).toBeNull();

    // The API refuses a call made without a token: the dialog opens.
    act(() => tokenRefused(''));
    expect(dialog().hasAttribute('open')).toBe(true);
    expect(screen.getByRole('dialog', { name: 'API token needed' })).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull(); // nothing was refused yet

    // Cancelled, it stays closed while 401s keep coming; a button reopens it.
    act(() => closeTokenDialog());
    act(() => tokenRefused(''));
    expect(dialog().hasAttribute('open')).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: /Enter token/ }));
    expect(dialog().hasAttribute('open')).toBe(true);

    // A token entered is kept and becomes what calls send.
    fireEvent.change(screen.getByLabelText('API token'), { target: { value: '  first-token  ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Use token' }));
    expect(apiToken()).toBe('first-token');
    expect(localStorage.getItem(STORAGE_KEY)).toBe('first-token');
    expect(dialog().hasAttribute('open')).toBe(false);

    // A late 401 to an older token changes nothing; one to this token reopens
    // the dialog saying it was refused.
    act(() => tokenRefused(''));
    expect(dialog().hasAttribute('open')).toBe(false);
    act(() => tokenRefused('first-token'));
    expect(dialog().hasAttribute('open')).toBe(true);
    expect(screen.getByRole('alert').textContent).toMatch(/refused/);
    act(() => closeTokenDialog());

    // Forgetting removes it from the browser.
    fireEvent.click(screen.getByRole('button', { name: /Forget token/ }));
    expect(apiToken()).toBe('');
    expect(localStorage.getItem(STORAGE_KEY)).toBeNull();
    act(() => forgetApiToken());
  });
});
