import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// `npm run dev` proxies the REST API to a running `coldtrace up`
// (override with COLDTRACE_API=http://host:port).
const api = process.env.COLDTRACE_API ?? 'http://127.0.0.1:7070';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    // scripts/clean-dist.mjs empties dist but keeps the committed placeholder.
    emptyOutDir: false,
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { '/api': api },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    css: false,
  },
});
