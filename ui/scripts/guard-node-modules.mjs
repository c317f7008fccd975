// Some npm packages ship .go files. A go.mod inside node_modules makes it a
// module of its own, so `go build/vet/test ./...` in the repository root
// never descends into it.
import { writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../node_modules/', import.meta.url));
if (existsSync(dir)) {
  writeFileSync(dir + 'go.mod', 'module coldtrace.invalid/ui/node_modules\n\ngo 1.26\n');
}
