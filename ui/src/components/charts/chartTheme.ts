import type { Theme } from '../../lib/theme';

/** Axis and grid colours per theme (uPlot draws on canvas, so CSS variables do not reach it). */
export function chartColors(theme: Theme) {
  return theme === 'dark'
    ? { axis: '#a8b3c2', grid: 'rgba(255,255,255,0.08)' }
    : { axis: '#4b5563', grid: 'rgba(0,0,0,0.07)' };
}
