import { defineConfig } from 'vitest/config';

// End-to-end: a real `coldtrace up`, real OTLP spans, real Chromium. One
// file at a time, in one process: the tests share one server and browser.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // expect.poll gives up after 1 s by default: a fresh browser's first
    // page, its bundle and its first API answer took longer on a loaded CI
    // machine (the shared-URL test failed at 2.9 s with the rows not yet
    // drawn). Waits for what must appear get 10 s; nothing waits for an
    // absence with poll.
    expect: { poll: { timeout: 10_000 } },
    reporters: ['verbose'],
  },
});
