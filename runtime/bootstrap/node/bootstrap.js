'use strict';
// Coldtrace's Node.js runtime client. It speaks the Lambda Runtime API at
// AWS_LAMBDA_RUNTIME_API, loads _HANDLER from LAMBDA_TASK_ROOT with the
// Lambda contract (event, context; async, promise or callback handlers),
// and, when the function uses @opentelemetry/api, records the handler's
// spans through the OpenTelemetry JS SDK and hands them to the host on the
// span pipe (COLDTRACE_SPAN_FD), so spans survive a timeout or crash and
// become children of the host's invocation span.
//
// Only a few Node core modules are loaded unless the function uses
// OpenTelemetry: this file is on every cold start's critical path.

const net = require('net');
const fs = require('fs');
const path = require('path');
const util = require('util');

const API = process.env.AWS_LAMBDA_RUNTIME_API;
const TASK_ROOT = process.env.LAMBDA_TASK_ROOT || process.cwd();
const PREFIX = '/2018-06-01/runtime';

let currentRequestId = '';

// RuntimeClient is HTTP/1.1 over one kept-alive socket. Node's http module
// costs tens of milliseconds on a cold start (loading it, and lazily
// setting up its parser on the first request); the Runtime API needs only
// this: the host always sends Content-Length. Requests may be pipelined:
// an invocation's answer and the next /next leave in one write.
class RuntimeClient {
  constructor(addr) {
    const sep = addr.lastIndexOf(':');
    this.host = addr.slice(0, sep);
    this.port = Number(addr.slice(sep + 1));
    this.socket = null;
    this.buf = Buffer.alloc(0);
    this.waiting = []; // answers expected, in request order
  }

  connect() {
    const socket = net.connect(this.port, this.host);
    socket.setNoDelay(true);
    socket.on('data', (d) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.parse();
    });
    const gone = (err) => {
      if (this.socket === socket) this.socket = null;
      this.buf = Buffer.alloc(0);
      const waiting = this.waiting;
      this.waiting = [];
      for (const w of waiting) w.reject(err || new Error('the runtime API closed the connection'));
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
    this.socket = socket;
  }

  parse() {
    while (this.waiting.length) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.buf.toString('latin1', 0, end).split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const headers = {};
      for (let i = 1; i < lines.length; i++) {
        const c = lines[i].indexOf(':');
        if (c > 0) headers[lines[i].slice(0, c).trim().toLowerCase()] = lines[i].slice(c + 1).trim();
      }
      const length = Number(headers['content-length'] || 0);
      if (this.buf.length < end + 4 + length) return;
      const body = this.buf.subarray(end + 4, end + 4 + length);
      this.buf = this.buf.subarray(end + 4 + length);
      this.waiting.shift().resolve({ status, headers, body });
    }
  }

  // encode is one request's bytes.
  encode(method, urlPath, body, headers) {
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
    let head = `${method} ${urlPath} HTTP/1.1\r\nHost: ${API}\r\nContent-Length: ${payload.length}\r\n`;
    for (const [k, v] of Object.entries(headers || {})) head += `${k}: ${v}\r\n`;
    return Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), payload]);
  }

  // send writes requests ([method, path, body, headers] each) at once and
  // returns a promise of each answer.
  send(...requests) {
    if (!this.socket) this.connect();
    const answers = requests.map(() => new Promise((resolve, reject) => this.waiting.push({ resolve, reject })));
    this.socket.write(Buffer.concat(requests.map((r) => this.encode(...r))));
    return answers;
  }

  request(method, urlPath, body, headers) {
    return this.send([method, urlPath, body, headers])[0];
  }
}

const client = new RuntimeClient(API);
// Connecting now lets the handshake happen while the handler loads.
client.connect();

const NEXT = ['GET', `${PREFIX}/invocation/next`];

function postRequest(urlPath, payload, errorType) {
  const headers = { 'Content-Type': 'application/json' };
  if (errorType) headers['Lambda-Runtime-Function-Error-Type'] = errorType;
  return ['POST', urlPath, payload, headers];
}

function post(urlPath, payload, errorType) {
  return client.send(postRequest(urlPath, payload, errorType))[0];
}

// Node writes to a pipe asynchronously: what the pipe cannot take yet
// waits in the stream. The host takes an invocation's log lines up to its
// answer, so lines still waiting here would land in the next invocation.
// A write of nothing calls back once everything before it is written.
// Null when nothing waits (the usual case: no await on the hot path).
function outputFlushed() {
  const { stdout, stderr } = process;
  if (stdout.writableLength === 0 && stderr.writableLength === 0) return null;
  return Promise.all([stdout, stderr].map((s) => new Promise((resolve) => s.write('', resolve))));
}

// answerAndNext posts an invocation's answer, once its output is written,
// and asks for the next event in one write; it resolves with the next
// event.
async function answerAndNext(urlPath, payload, errorType) {
  const flushing = outputFlushed();
  if (flushing) await flushing;
  const [answer, next] = client.send(postRequest(urlPath, payload, errorType), NEXT);
  const a = await answer;
  if (a.status !== 202) {
    process.stderr.write(`coldtrace bootstrap: ${urlPath} answered ${a.status}: ${a.body}\n`);
  }
  return next;
}

// Lambda's console format: timestamp, request id, level, message.
function patchConsole() {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
  for (const [method, level] of Object.entries(levels)) {
    const stream = level === 'ERROR' || level === 'WARN' ? process.stderr : process.stdout;
    console[method] = (...args) => {
      const msg = util.format(...args).replace(/\n/g, '\r');
      stream.write(`${new Date().toISOString()}\t${currentRequestId || 'undefined'}\t${level}\t${msg}\n`);
    };
  }
}

// The trace header of the current invocation, as _X_AMZN_TRACE_ID in
// process.env. Setting a variable through process.env calls glibc's
// setenv, which keeps every value it was ever given in a search tree: with
// a new trace id per call, a warm instance leaked ~160 bytes an invocation
// and searched an ever larger tree (4-6 us of CPU a call in a perf profile,
// docs/benchmarks.md). So the variable lives here and process.env becomes
// a view that adds it to the real environment: reads, `in`, enumeration
// and child processes started with the default environment all see it;
// only native code calling getenv() does not.
const TRACE_ENV = '_X_AMZN_TRACE_ID';
let traceEnv;

function installTraceEnv() {
  const env = process.env;
  traceEnv = env[TRACE_ENV];
  delete env[TRACE_ENV];
  process.env = new Proxy(env, {
    get: (t, k) => (k === TRACE_ENV ? traceEnv : t[k]),
    set: (t, k, v) => {
      if (k === TRACE_ENV) traceEnv = String(v);
      else t[k] = v;
      return true;
    },
    has: (t, k) => (k === TRACE_ENV ? traceEnv !== undefined : k in t),
    deleteProperty: (t, k) => {
      if (k === TRACE_ENV) traceEnv = undefined;
      else delete t[k];
      return true;
    },
    ownKeys: (t) => {
      const keys = Reflect.ownKeys(t);
      if (traceEnv !== undefined) keys.push(TRACE_ENV);
      return keys;
    },
    getOwnPropertyDescriptor: (t, k) =>
      k !== TRACE_ENV
        ? Reflect.getOwnPropertyDescriptor(t, k)
        : traceEnv === undefined
          ? undefined
          : { value: traceEnv, writable: true, enumerable: true, configurable: true },
    defineProperty: (t, k, d) => {
      if (k !== TRACE_ENV) return Reflect.defineProperty(t, k, d);
      traceEnv = String(d.value);
      return true;
    },
  });
}

class UserError extends Error {
  constructor(type, message, cause) {
    super(message);
    this.name = type;
    if (cause && cause.stack) this.stack = cause.stack;
  }
}

function errorBody(err) {
  const e = err instanceof Error ? err : new Error(typeof err === 'string' ? err : util.inspect(err));
  const stack = typeof e.stack === 'string' ? e.stack.split('\n').slice(1).map((l) => l.trim()) : [];
  return JSON.stringify({ errorType: e.name || 'Error', errorMessage: e.message || String(err), stackTrace: stack });
}

async function loadHandler() {
  const spec = process.env._HANDLER || '';
  const dot = spec.lastIndexOf('.');
  if (dot <= 0) throw new UserError('Runtime.MalformedHandlerName', `Bad handler ${spec}: expected FILE.EXPORT`);
  const modulePath = spec.slice(0, dot);
  const exportName = spec.slice(dot + 1);
  const base = path.resolve(TASK_ROOT, modulePath);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!file) throw new UserError('Runtime.ImportModuleError', `Error: Cannot find module '${modulePath}'`);
  let mod;
  try {
    if (file.endsWith('.mjs')) {
      mod = await import(require('url').pathToFileURL(file).href);
    } else {
      try {
        mod = require(file);
      } catch (e) {
        if (e.code !== 'ERR_REQUIRE_ESM') throw e;
        mod = await import(require('url').pathToFileURL(file).href);
      }
    }
  } catch (e) {
    const type = e instanceof SyntaxError ? 'Runtime.UserCodeSyntaxError' : 'Runtime.ImportModuleError';
    throw new UserError(type, `${e.name}: ${e.message}`, e);
  }
  let fn = mod[exportName];
  if (fn === undefined && mod.default) fn = mod.default[exportName];
  if (typeof fn !== 'function') {
    throw new UserError('Runtime.HandlerNotFound', `${spec} is undefined or not exported`);
  }
  return fn;
}

// ---- spans ----------------------------------------------------------------

function nanos(hr) {
  return (BigInt(hr[0]) * 1000000000n + BigInt(hr[1])).toString();
}

const kindNames = ['internal', 'server', 'client', 'producer', 'consumer'];
const statusNames = ['unset', 'ok', 'error'];

// PipeSpanProcessor writes each span's start and end to the span pipe.
// The host keeps started spans, so one left open when the process dies
// is still exported, marked as cut off.
class PipeSpanProcessor {
  constructor(fd) {
    this.fd = fd;
  }

  write(rec) {
    try {
      fs.writeSync(this.fd, JSON.stringify(rec) + '\n');
    } catch (e) {
      // A host that stopped reading must not break the function.
    }
  }

  base(span) {
    const sc = span.spanContext();
    const parent = span.parentSpanContext || (span.parentSpanId ? { spanId: span.parentSpanId } : undefined);
    const scope = span.instrumentationScope || span.instrumentationLibrary || {};
    return {
      trace: sc.traceId,
      span: sc.spanId,
      parent: parent ? parent.spanId : '',
      name: span.name,
      kind: kindNames[span.kind] || 'internal',
      start: nanos(span.startTime),
      scope: { name: scope.name || '', version: scope.version || '' },
    };
  }

  onStart(span) {
    this.write({ ev: 'start', rid: currentRequestId, ...this.base(span), attrs: span.attributes });
  }

  onEnd(span) {
    this.write({
      ev: 'end',
      ...this.base(span),
      end: nanos(span.endTime),
      attrs: span.attributes,
      status: { code: statusNames[span.status.code] || 'unset', message: span.status.message || '' },
      events: (span.events || []).map((e) => ({ name: e.name, time: nanos(e.time), attrs: e.attributes || {} })),
      links: (span.links || []).map((l) => ({ trace: l.context.traceId, span: l.context.spanId, attrs: l.attributes || {} })),
    });
  }

  forceFlush() {
    return Promise.resolve();
  }

  shutdown() {
    return Promise.resolve();
  }
}

// setupTracing wires @opentelemetry/api, if the function has it, to the
// SDK and the span pipe. Without the API the function makes no spans and
// nothing is loaded.
function setupTracing() {
  const fd = Number(process.env.COLDTRACE_SPAN_FD);
  if (!fd) return null;
  const load = (name) => require(require.resolve(name, { paths: [TASK_ROOT] }));
  let api;
  try {
    api = load('@opentelemetry/api');
  } catch (e) {
    return null;
  }
  let sdk, hooks, core;
  try {
    sdk = load('@opentelemetry/sdk-trace-base');
    hooks = load('@opentelemetry/context-async-hooks');
    core = load('@opentelemetry/core');
  } catch (e) {
    process.stderr.write(
      'coldtrace: the function uses @opentelemetry/api but lacks @opentelemetry/sdk-trace-base, ' +
        '@opentelemetry/context-async-hooks or @opentelemetry/core (OTel JS 2.x); its spans are not recorded: ' +
        e.message + '\n',
    );
    return null;
  }
  const provider = new sdk.BasicTracerProvider({ spanProcessors: [new PipeSpanProcessor(fd)] });
  const contextManager = new hooks.AsyncLocalStorageContextManager();
  contextManager.enable();
  api.context.setGlobalContextManager(contextManager);
  api.propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);
  return api;
}

// ---- invocations -----------------------------------------------------------

function parseJSONHeader(v) {
  if (!v) return undefined;
  try {
    return JSON.parse(v);
  } catch (e) {
    return undefined;
  }
}

function makeContext(h, resolve) {
  const deadline = Number(h['lambda-runtime-deadline-ms']);
  const env = process.env;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: h['lambda-runtime-aws-request-id'],
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parseJSONHeader(h['lambda-runtime-client-context']),
    identity: parseJSONHeader(h['lambda-runtime-cognito-identity']),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    // The legacy completion functions.
    done: (err, result) => resolve([err, result]),
    succeed: (result) => resolve([null, result]),
    fail: (err) => resolve([err == null ? new Error('handled') : err]),
  };
}

// runHandler settles with the handler's outcome whichever style it
// uses: a returned promise, a callback, the context functions, or a
// plain return value.
function runHandler(handler, event, h) {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome) => {
      if (!settled) {
        settled = true;
        resolve(outcome);
      }
    };
    const context = makeContext(h, settle);
    const callback = (err, result) => settle([err, result]);
    let ret;
    try {
      ret = handler(event, context, callback);
    } catch (e) {
      settle([e]);
      return;
    }
    if (ret && typeof ret.then === 'function') {
      ret.then((r) => settle([null, r]), (e) => settle([e == null ? new Error('rejected') : e]));
    } else if (handler.length < 3) {
      settle([null, ret]);
    }
  });
}

// invoke runs one event and returns the next one.
async function invoke(handler, next, api) {
  const h = next.headers;
  const id = h['lambda-runtime-aws-request-id'];
  currentRequestId = id;
  traceEnv = h['lambda-runtime-trace-id'] || undefined;
  let event;
  try {
    event = next.body.length ? JSON.parse(next.body.toString('utf8')) : null;
  } catch (e) {
    const err = new UserError('Runtime.MalformedEventJSON', e.message);
    return answerAndNext(`${PREFIX}/invocation/${id}/error`, errorBody(err), err.name);
  }
  let outcome;
  if (api) {
    const parent = api.propagation.extract(api.ROOT_CONTEXT, { traceparent: h.traceparent });
    outcome = await api.context.with(parent, () => runHandler(handler, event, h));
  } else {
    outcome = await runHandler(handler, event, h);
  }
  const [err, result] = outcome;
  if (err != null) {
    return answerAndNext(`${PREFIX}/invocation/${id}/error`, errorBody(err), 'Unhandled');
  }
  let body;
  try {
    body = JSON.stringify(result === undefined ? null : result);
  } catch (e) {
    const err = new UserError('Runtime.ResponseNotSerializable', e.message);
    return answerAndNext(`${PREFIX}/invocation/${id}/error`, errorBody(err), err.name);
  }
  return answerAndNext(`${PREFIX}/invocation/${id}/response`, body);
}

async function main() {
  patchConsole();
  installTraceEnv();
  // An exception nobody catches ends the process, as in Lambda; the host
  // reports the invocation as a crash and the next call starts cold.
  process.on('uncaughtException', (err) => {
    process.stderr.write(`${new Date().toISOString()}\t${currentRequestId}\tERROR\tUncaught ${err && err.stack ? err.stack : err}\n`);
    process.exit(129);
  });
  let handler;
  let api = null;
  try {
    api = setupTracing();
    handler = await loadHandler();
  } catch (err) {
    process.stderr.write(`${err.name}: ${err.message}\n`);
    await post(`${PREFIX}/init/error`, errorBody(err), err.name).catch(() => {});
    process.exit(1);
  }
  let next = await client.request(...NEXT);
  for (;;) {
    if (next.status !== 200) {
      process.stderr.write(`coldtrace bootstrap: /next answered ${next.status}: ${next.body}\n`);
      process.exit(1);
    }
    next = await invoke(handler, next, api);
  }
}

main().catch((err) => {
  process.stderr.write(`coldtrace bootstrap: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
