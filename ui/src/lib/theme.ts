// Light/dark theme: the user's choice is remembered; "system" follows the OS.
import { useSyncExternalStore } from 'react';

export type ThemePreference = 'light' | 'dark' | 'system';
export type Theme = 'light' | 'dark';

const KEY = 'coldtrace.theme';
const listeners = new Set<() => void>();
const media = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;

function readPreference(): ThemePreference {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'light' || v === 'dark') return v;
  } catch {
    // Storage can be disabled (private mode, policies): fall back to the OS.
  }
  return 'system';
}

let preference: ThemePreference = readPreference();

function resolved(): Theme {
  if (preference !== 'system') return preference;
  return media?.matches ? 'dark' : 'light';
}

function apply() {
  document.documentElement.dataset.theme = resolved();
  listeners.forEach((l) => l());
}

media?.addEventListener?.('change', () => {
  if (preference === 'system') apply();
});

export function setThemePreference(p: ThemePreference) {
  preference = p;
  try {
    if (p === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, p);
  } catch {
    // Not remembered, but still applied for this visit.
  }
  apply();
}

export function initTheme() {
  apply();
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The theme in effect and the user's preference. */
export function useTheme(): { theme: Theme; preference: ThemePreference } {
  const theme = useSyncExternalStore(subscribe, resolved, () => 'light' as Theme);
  const pref = useSyncExternalStore(subscribe, () => preference, () => 'system' as ThemePreference);
  return { theme, preference: pref };
}
