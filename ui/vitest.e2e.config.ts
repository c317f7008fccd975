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
    reporters: ['verbose'],
  },
});
