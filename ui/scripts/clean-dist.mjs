// Vite's own emptyOutDir would also delete dist/.keep, the committed file
// that lets `go build` embed ui/dist on a clone where the UI was never built.
import { readdirSync, rmSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
mkdirSync(dist, { recursive: true });
for (const name of readdirSync(dist)) {
  if (name !== '.keep') rmSync(dist + name, { recursive: true, force: true });
}
