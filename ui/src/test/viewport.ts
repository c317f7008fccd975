import { afterAll, beforeAll } from 'vitest';

/**
 * jsdom does no layout: give the waterfall's scrolling body a laptop-sized
 * viewport, for the file's tests, so the virtualiser has rows to show.
 */
export function withWaterfallViewport() {
  beforeAll(() => {
    Object.defineProperty(HTMLElement.prototype, 'clientHeight', {
      configurable: true,
      get() {
        return (this as HTMLElement).classList.contains('wf-body') ? 600 : 0;
      },
    });
  });
  afterAll(() => {
    delete (HTMLElement.prototype as { clientHeight?: number }).clientHeight;
  });
}
