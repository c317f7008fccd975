// The API token of a Coldtrace started with --auth-token. It is kept in
// this browser (localStorage) and sent as a bearer token with every API
// call. A 401 from the API says it is missing or refused: the token
// dialog then asks for it.
import { useSyncExternalStore } from 'react';

const KEY = 'coldtrace.apiToken';

export interface TokenState {
  /** The stored token, '' when there is none. */
  token: string;
  /** The API answered 401 to the current token (or to none). */
  needed: boolean;
  /** The dialog asking for a token is open. */
  asking: boolean;
}

function readStored(): string {
  try {
    return localStorage.getItem(KEY) ?? '';
  } catch {
    // Storage can be disabled (policies, private mode): the token then
    // lasts until the page is left.
    return '';
  }
}

let state: TokenState = { token: readStored(), needed: false, asking: false };
const listeners = new Set<() => void>();

function update(patch: Partial<TokenState>) {
  state = { ...state, ...patch };
  listeners.forEach((l) => l());
}

/** The token to send, '' for none. */
export function apiToken(): string {
  return state.token;
}

/** Keeps token and closes the dialog. */
export function setApiToken(token: string) {
  try {
    localStorage.setItem(KEY, token);
  } catch {
    // Kept in memory only.
  }
  update({ token, needed: false, asking: false });
}

/** Forgets the stored token; the next API call will ask again. */
export function forgetApiToken() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // Nothing was stored.
  }
  update({ token: '', needed: false });
}

/**
 * Records a 401 to a call made with sentToken. Answers to a token that has
 * since been replaced change nothing: the new one has not been refused.
 */
export function tokenRefused(sentToken: string) {
  if (sentToken !== state.token) return;
  update({ needed: true, asking: state.asking || !state.needed });
}

export function askForToken() {
  if (!state.asking) update({ asking: true });
}

export function closeTokenDialog() {
  if (state.asking) update({ asking: false });
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function useTokenState(): TokenState {
  return useSyncExternalStore(subscribe, () => state);
}
