// Measures what a first visit downloads: the entry script and every chunk
// index.html preloads, gzipped. Fails the build over the budget (issue 5:
// initial load <= 300 KB of gzipped JavaScript). Lazy route chunks are not
// counted: they load only when their page is opened.
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const BUDGET_BYTES = 300 * 1024;
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const html = readFileSync(dist + 'index.html', 'utf8');
const refs = [...html.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="\/?([^"]+\.js)"/g)].map((m) => m[1]);
const files = [...new Set(refs)].map((path) => {
  const raw = readFileSync(dist + path);
  return { path, bytes: raw.length, gzipBytes: gzipSync(raw, { level: 9 }).length };
});
const total = files.reduce((n, f) => n + f.gzipBytes, 0);
writeFileSync(dist + 'bundle-size.json', JSON.stringify({ budgetBytes: BUDGET_BYTES, initialGzipBytes: total, files }, null, 2));
for (const f of files) console.log(`  ${f.path}  ${(f.bytes / 1024).toFixed(1)} KB, gzip ${(f.gzipBytes / 1024).toFixed(1)} KB`);
console.log(`initial-load JavaScript: ${(total / 1024).toFixed(1)} KB gzipped (budget ${BUDGET_BYTES / 1024} KB)`);
if (refs.length === 0) {
  console.error('bundle-size: no script found in dist/index.html');
  process.exit(1);
}
if (total > BUDGET_BYTES) {
  console.error('bundle-size: over budget');
  process.exit(1);
}
