// Runs the real `coldtrace up` for the end-to-end tests: builds the binary
// (with the built UI embedded), starts it on free loopback ports with a
// fresh data directory, waits until the API answers, and stops it.
// COLDTRACE_E2E_URL (+ COLDTRACE_E2E_OTLP) points the tests at an already
// running instance instead.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const UI_DIR = resolve(import.meta.dirname, '..');
export const REPO_DIR = resolve(UI_DIR, '..');
export const RUN_DIR = join(UI_DIR, 'e2e', '.run');
/** Where the tests save their screenshots of each page. */
export const SCREENSHOTS = process.env.COLDTRACE_SCREENSHOTS ?? join(REPO_DIR, 'docs', 'screenshots');

export interface Coldtrace {
  /** http://127.0.0.1:port of the REST API and web UI. */
  baseUrl: string;
  /** OTLP/HTTP base URL. */
  otlpHttp: string;
  /** Function gateway base URL. */
  gateway: string;
  stop: () => Promise<void>;
  logTail: () => string;
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

function buildBinary(): string {
  if (process.env.COLDTRACE_BIN) return resolve(process.env.COLDTRACE_BIN);
  mkdirSync(RUN_DIR, { recursive: true });
  const bin = join(RUN_DIR, 'coldtrace');
  execFileSync('go', ['build', '-o', bin, './cmd/coldtrace'], { cwd: REPO_DIR, stdio: 'inherit' });
  return bin;
}

/** Headers of an API call with token (none without). */
export function authHeaders(token?: string): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function waitReady(baseUrl: string, proc: ChildProcess | undefined, log: () => string, token?: string, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`coldtrace exited with ${proc.exitCode}:\n${log()}`);
    try {
      const res = await fetch(`${baseUrl}/api/v1/status`, { headers: authHeaders(token) });
      if (res.ok) return;
      last = `status ${res.status}: ${await res.text()}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`coldtrace did not become ready in ${timeoutMs} ms (${last}):\n${log()}`);
}

/**
 * Starts `coldtrace up` with extraArgs. token is the API token the server
 * requires (give it as --auth-token in extraArgs too).
 */
export async function startColdtrace(extraArgs: string[] = [], token?: string): Promise<Coldtrace> {
  const external = process.env.COLDTRACE_E2E_URL;
  if (external) {
    const baseUrl = external.replace(/\/$/, '');
    await waitReady(baseUrl, undefined, () => '', token);
    return {
      baseUrl,
      otlpHttp: process.env.COLDTRACE_E2E_OTLP ?? 'http://127.0.0.1:4318',
      gateway: process.env.COLDTRACE_E2E_GATEWAY ?? 'http://127.0.0.1:8080',
      stop: async () => {},
      logTail: () => '',
    };
  }
  const bin = buildBinary();
  const [http, grpc, otlp, gateway] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const workDir = mkdtempSync(join(tmpdir(), 'coldtrace-e2e-'));
  mkdirSync(RUN_DIR, { recursive: true });
  const logPath = join(RUN_DIR, 'coldtrace.log');
  const logFile = createWriteStream(logPath);
  // Run from workDir with a relative --data-dir, as `./data` is used by
  // default: paths handed to function instances must not depend on it.
  const args = [
    'up',
    '--data-dir', 'data',
    '--http-addr', `127.0.0.1:${http}`,
    '--otlp-grpc-addr', `127.0.0.1:${grpc}`,
    '--otlp-http-addr', `127.0.0.1:${otlp}`,
    '--gateway-addr', `127.0.0.1:${gateway}`,
    ...extraArgs,
  ];
  const proc = spawn(bin, args, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.pipe(logFile);
  proc.stderr!.pipe(logFile);
  let spawnError = '';
  proc.on('error', (err) => (spawnError = `cannot run ${bin}: ${err.message}`));
  const logTail = () => {
    let tail = '';
    try {
      tail = readFileSync(logPath, 'utf8').split('\n').slice(-40).join('\n');
    } catch {
      // No log yet.
    }
    return spawnError ? `${spawnError}\n${tail}` : tail;
  };
  const baseUrl = `http://127.0.0.1:${http}`;
  try {
    await waitReady(baseUrl, proc, logTail, token);
  } catch (err) {
    proc.kill('SIGKILL');
    rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
  return {
    baseUrl,
    otlpHttp: `http://127.0.0.1:${otlp}`,
    gateway: `http://127.0.0.1:${gateway}`,
    logTail,
    stop: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 40_000);
        await exited;
        clearTimeout(timer);
      }
      logFile.end();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** Polls fn until it returns a value (not undefined), or fails after timeoutMs. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}${lastErr ? `: ${lastErr}` : ''}`);
}

export async function getJSON<T>(url: string, token?: string): Promise<T> {
  const res = await fetch(url, { headers: authHeaders(token) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
