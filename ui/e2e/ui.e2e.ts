// End-to-end: the built UI embedded in a real `coldtrace up --examples`,
// real invocations of the example functions through the runtime's gateway
// (called from a traced client), one 10,000-span trace sent with the
// OpenTelemetry SDK, and real headless Chromium. Saves one screenshot per
// page into docs/screenshots/ and the 10,000-span render figures into
// e2e/.run/results.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Dependencies, Functions, Instances, Timeseries, Trace, TraceSearch } from '../src/api/types';
import { formatCount, formatPercent } from '../src/lib/format';
import { BIG_TRACE_SERVICES, sendBigTrace, sendIncompleteTrace, type BigTrace } from './bigTrace';
import { launchChromium, watchErrors } from './browser';
import { eventually, getJSON, REPO_DIR, RUN_DIR, SCREENSHOTS, startColdtrace, type Coldtrace } from './harness';
import { MEMORY_FUNCTION, MEMORY_VERSIONS, PAGER_SERVICE, PAGER_TRACES, RALLY_KEY, sendPageData, type PageData } from './pageData';
import { CLIENT_SERVICE, driveRuntime, type RuntimeData } from './runtime';

// COLDTRACE_E2E_VIEWPORT=1280x720 checks a smaller laptop screen.
const [vw, vh] = (process.env.COLDTRACE_E2E_VIEWPORT ?? '1440x900').split('x').map(Number);
const VIEWPORT = { width: vw, height: vh };

let ct: Coldtrace;
let rt: RuntimeData;
let big: BigTrace;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

async function newPage(colorScheme: 'light' | 'dark' = 'light'): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: VIEWPORT, colorScheme });
  const p = await ctx.newPage();
  watchErrors(p, pageErrors);
  return { ctx, page: p };
}

async function screenshot(p: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Let charts finish drawing and the spinners go.
  await p.waitForFunction(() => !document.querySelector('.state-loading, .sparkline-empty'));
  await p.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

const url = (path: string) => `${ct.baseUrl}${path}`;

beforeAll(async () => {
  ct = await startColdtrace(['--examples', '--examples-dir', join(REPO_DIR, 'examples')]);
  try {
    browser = await launchChromium();
    ({ ctx: context, page } = await newPage());
    // Before any span arrives: the landing page tells a newcomer what to do.
    await page.goto(url('/'));
    await page.getByText('No function invocations in this time range').waitFor();
    await page.getByText('coldtrace up --examples', { exact: false }).waitFor();
    await screenshot(page, 'empty');

    rt = await driveRuntime(ct.gateway, ct.otlpHttp);
    big = await sendBigTrace(ct.otlpHttp);
    // The runtime exports its spans in batches: wait until every
    // invocation and the whole big trace can be read back.
    await eventually('the spans to be queryable', async () => {
      const f = await getJSON<Functions>(url('/api/v1/functions?start=now-1h'));
      for (const [name, n] of Object.entries(rt.invocations)) {
        const got = f.functions.filter((x) => x.name === name).reduce((sum, x) => sum + x.invocations, 0);
        if (got !== n) return undefined;
      }
      for (const c of rt.calls) await getJSON<Trace>(url(`/api/v1/traces/${c.traceId}`));
      const t = await getJSON<Trace>(url(`/api/v1/traces/${big.traceId}`));
      return t.spans.length === big.spans ? true : undefined;
    });
  } catch (err) {
    console.error(ct.logTail());
    throw err;
  }
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await ct?.stop();
});

// Console errors a test provokes on purpose (an injected 503, an error a
// page's error boundary caught), reset after each test.
let expectedErrors: RegExp[] = [];

afterEach(() => {
  const errors = pageErrors.splice(0).filter((e) => !expectedErrors.some((re) => re.test(e)));
  expectedErrors = [];
  expect(errors).toEqual([]);
});

describe('web UI on a running coldtrace', () => {
  it('lists the functions with their invocations and cold-start rates', async () => {
    const api = await getJSON<Functions>(url('/api/v1/functions?start=now-1h'));
    await page.goto(url('/?range=1h'));
    for (const [name, invocations] of Object.entries(rt.invocations)) {
      const f = api.functions.find((x) => x.name === name)!;
      const row = page.locator('.functions-table tbody tr', { has: page.getByRole('link', { name, exact: true }) });
      await row.waitFor();
      const cells = await row.locator('td').allInnerTexts();
      expect(cells[0]).toContain(formatCount(invocations));
      expect(f.coldStarts).toBeGreaterThanOrEqual(1); // the first call of each function started an instance
      expect(cells[1]).toContain(formatPercent(f.coldStartRate));
      expect(cells[4]).toContain(formatCount(name === rt.timeoutFunction ? 1 : 0));
      // Sparklines are drawn (uPlot canvases).
      await expect.poll(() => row.locator('canvas').count()).toBeGreaterThanOrEqual(2);
    }
    await screenshot(page, 'functions');
  });

  it('opens a function that timed out: its timeouts and the timeout in the waterfall', async () => {
    await page.getByRole('link', { name: rt.timeoutFunction, exact: true }).click();
    await page.waitForURL(new RegExp(`/functions/${rt.timeoutFunction}`));
    const timeouts = page.locator('.panel', { hasText: 'Recent timeouts' });
    await expect.poll(() => timeouts.locator('tbody tr').count()).toBe(1);
    await timeouts.locator('a.trace-link').click();
    const invocation = page.locator(`[role=treeitem][data-span-name="${rt.timeoutFunction}"]`);
    await invocation.waitFor();
    expect(await invocation.locator('.badge-timeout').innerText()).toBe('timeout');
    expect(await invocation.locator('.wf-bar-error').count()).toBe(1);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Functions' }).click();
  });

  it('opens a function: charts, recent cold starts, instances', async () => {
    const name = rt.coldFunction;
    const api = (await getJSON<Functions>(url('/api/v1/functions?start=now-1h'))).functions.find((x) => x.name === name)!;
    const instances = await getJSON<Instances>(url(`/api/v1/functions/${name}/instances?start=now-1h`));
    // Its cold starts have an init duration median.
    const initP50 = await getJSON<Timeseries>(url(`/api/v1/functions/${name}/timeseries?metric=init_p50&start=now-1h`));
    expect(initP50.points.some((p) => p.value !== null && p.value > 0)).toBe(true);
    const initAnswers = ['init_p50', 'init_p95'].map((m) =>
      page.waitForResponse((r) => r.url().includes(`/functions/${name}/timeseries`) && r.url().includes(`metric=${m}&`)),
    );
    await page.getByRole('link', { name, exact: true }).click();
    await page.waitForURL(new RegExp(`/functions/${name}`));
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe(name);
    const invocations = page.locator('.stat-card', { hasText: 'Invocations' }).locator('dd');
    await expect.poll(() => invocations.innerText()).toContain(formatCount(rt.invocations[name]));
    await expect.poll(() => page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(4);
    // The init duration chart draws p50 and p95, both read from the API.
    for (const answer of await Promise.all(initAnswers)) expect(answer.status()).toBe(200);
    const initChart = page.locator('figure.chart', { has: page.locator('figcaption', { hasText: 'Init duration p50 and p95' }) });
    await expect.poll(() => initChart.locator('.u-legend').innerText()).toMatch(/Init p50[\s\S]*Init p95/);

    const cold = page.locator('.panel', { hasText: 'Recent cold starts' });
    await expect.poll(() => cold.locator('tbody tr').count()).toBe(Math.min(api.coldStarts, 10));
    await page.locator('.panel', { hasText: 'Recent timeouts' }).getByText('No timeout in this range.').waitFor();

    await expect.poll(() => page.locator('.instance-lane').count()).toBe(instances.instances.length);
    const created = instances.instances.filter((i) => i.coldStart !== null).length;
    expect(created).toBeGreaterThanOrEqual(1);
    await expect.poll(() => page.locator('.instance-coldstart').count()).toBe(created);
    await screenshot(page, 'function');
  });

  let coldTraceUrl = '';

  it('opens a cold-start trace and shows its init span in the waterfall', async () => {
    const cold = page.locator('.panel', { hasText: 'Recent cold starts' });
    await cold.locator('tbody tr a.trace-link').first().click();
    await page.waitForURL(/\/traces\/[0-9a-f]{32}/);
    const init = page.locator('[role=treeitem][data-span-name="init"]');
    await init.waitFor();
    expect(await init.locator('.badge-init').count()).toBe(1);
    expect(await init.locator('.wf-bar-init').count()).toBe(1);
    const invocation = page.locator(`[role=treeitem][data-span-name="${rt.coldFunction}"]`);
    expect(await invocation.locator('.badge-cold').innerText()).toContain('cold start');
    // The caller's span is the root: the invocation joined the client's trace.
    expect(await page.locator('[role=treeitem]').first().getAttribute('data-span-name')).toMatch(/^GET \/fn\//);

    await init.click();
    const details = page.locator('aside.span-details');
    await expect.poll(() => details.getByRole('heading', { level: 2 }).innerText()).toContain('init');
    expect(page.url()).toMatch(/[?&]span=[0-9a-f]{16}/);
    coldTraceUrl = page.url();
    await screenshot(page, 'trace');
  });

  it('is usable from the keyboard: the waterfall moves, folds and selects', async () => {
    const tree = page.getByRole('tree');
    await tree.focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('Enter');
    const first = await page.locator('[role=treeitem]').first().getAttribute('data-span-name');
    const details = page.locator('aside.span-details');
    await expect.poll(() => details.getByRole('heading', { level: 2 }).innerText()).toContain(first!);
    const before = await page.locator('[role=treeitem]').count();
    await page.keyboard.press('ArrowLeft'); // fold the root
    await expect.poll(() => page.locator('[role=treeitem]').count()).toBe(1);
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.locator('[role=treeitem]').count()).toBe(before);
  });

  let sharedSearchUrl = '';
  const searched = () => rt.calls.filter((c) => `/fn/${c.fn}${c.path}` === rt.searchPath).map((c) => c.traceId);

  it('searches traces by attribute, and the URL carries the filter', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Traces' }).click();
    await page.waitForURL(/\/traces(\?|$)/);
    await page.getByLabel('Attribute filter 1', { exact: true }).fill(`url.path=${rt.searchPath}`);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL(/attr=url.path/);
    const links = page.locator('.trace-table tbody a.trace-link');
    await expect.poll(() => links.count()).toBe(searched().length);
    const ids = await links.evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).pathname.split('/').pop()));
    expect(new Set(ids)).toEqual(new Set(searched()));
    sharedSearchUrl = page.url();
    await screenshot(page, 'trace-search');
  });

  it('searches by resource attribute', async () => {
    const name = rt.coldFunction;
    const api = await getJSON<TraceSearch>(url(`/api/v1/traces?resource.faas.name=${name}&start=now-1h&limit=50`));
    expect(api.traces.length).toBeGreaterThan(0);
    await page.goto(url(`/traces?attr=${encodeURIComponent(`resource.faas.name=${name}`)}`));
    const links = page.locator('.trace-table tbody a.trace-link');
    await expect.poll(() => links.count()).toBe(api.traces.length);
  });

  it('opens shared URLs in a fresh browser: a search and a selected span', async () => {
    const fresh = await newPage();
    try {
      await fresh.page.goto(sharedSearchUrl);
      const links = fresh.page.locator('.trace-table tbody a.trace-link');
      await expect.poll(() => links.count()).toBe(searched().length);
      expect(await fresh.page.getByLabel('Attribute filter 1', { exact: true }).inputValue()).toBe(`url.path=${rt.searchPath}`);

      await fresh.page.goto(coldTraceUrl);
      const details = fresh.page.locator('aside.span-details');
      await expect.poll(() => details.getByRole('heading', { level: 2 }).innerText()).toContain('init');
      expect(await fresh.page.locator('[role=treeitem].selected').getAttribute('data-span-name')).toBe('init');
    } finally {
      await fresh.ctx.close();
    }
  });

  it('draws the service map from the dependencies', async () => {
    const edges: [string, string][] = [
      ...Object.keys(rt.invocations).map((fn): [string, string] => [CLIENT_SERVICE, fn]),
      [BIG_TRACE_SERVICES[0], BIG_TRACE_SERVICES[1]],
      [BIG_TRACE_SERVICES[1], BIG_TRACE_SERVICES[2]],
    ];
    const api = await getJSON<Dependencies>(url('/api/v1/dependencies?start=now-1h'));
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Service map' }).click();
    await page.waitForURL(/\/map/);
    for (const [caller, callee] of edges) {
      await page.locator('.react-flow__node', { hasText: caller }).first().waitFor();
      await page.locator('.react-flow__node', { hasText: callee }).first().waitFor();
      const edge = page.locator(`.react-flow__edge[data-id="${caller}->${callee}"]`);
      await expect.poll(() => edge.count()).toBe(1);
    }
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(api.edges.length);
    // Edge labels are SVG text.
    await expect.poll(() => page.locator('.react-flow__edge-text').first().textContent()).toMatch(/calls/);
    await screenshot(page, 'service-map');
  });

  it('renders a 10,000-span trace with virtualised rows', async () => {
    const fresh = await newPage();
    try {
      const p = fresh.page;
      await p.goto(url(`/traces/${big.traceId}`));
      await p.getByText(`${big.spans.toLocaleString('en-US')} spans`, { exact: false }).waitFor();
      await p.waitForFunction(() => performance.getEntriesByName('coldtrace:waterfall-painted').length > 0);
      const timing = await p.evaluate((traceId) => {
        const api = performance
          .getEntriesByType('resource')
          .find((e) => e.name.includes(`/api/v1/traces/${traceId}`)) as PerformanceResourceTiming;
        const rendered = performance.getEntriesByName('coldtrace:waterfall-rendered')[0].startTime;
        const painted = performance.getEntriesByName('coldtrace:waterfall-painted')[0].startTime;
        return {
          requestStartMs: api.startTime,
          apiMs: api.responseEnd - api.startTime,
          apiBytes: api.encodedBodySize,
          dataToRowsMs: rendered - api.responseEnd,
          dataToPaintMs: painted - api.responseEnd,
          navigationToPaintMs: painted,
          rowsInDom: document.querySelectorAll('[role=treeitem]').length,
        };
      }, big.traceId);
      expect(timing.rowsInDom).toBeGreaterThan(10);
      expect(timing.rowsInDom).toBeLessThan(200);

      // Scroll through the whole trace in steps, one frame each: the rows
      // follow, and the last span ends up rendered.
      const scroll = await p.evaluate(async () => {
        const body = document.querySelector<HTMLElement>('.wf-body')!;
        const frames: number[] = [];
        const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
        let last = await frame();
        const steps = 60;
        for (let i = 1; i <= steps; i++) {
          body.scrollTop = (body.scrollHeight * i) / steps;
          const t = await frame();
          frames.push(t - last);
          last = t;
        }
        frames.sort((a, b) => a - b);
        return {
          steps,
          frameP50Ms: frames[Math.floor(frames.length * 0.5)],
          frameP95Ms: frames[Math.floor(frames.length * 0.95)],
          frameMaxMs: frames[frames.length - 1],
        };
      });
      const lastRow = p.locator('[role=treeitem]').last();
      await expect.poll(() => lastRow.getAttribute('data-span-name')).toMatch(/part \d+/);
      expect(await p.locator('[role=treeitem]').count()).toBeLessThan(200);
      await p.evaluate(() => (document.querySelector<HTMLElement>('.wf-body')!.scrollTop = 0));
      await screenshot(p, 'trace-10k');

      const results = { spans: big.spans, viewport: VIEWPORT, ...timing, scroll, at: new Date().toISOString() };
      mkdirSync(RUN_DIR, { recursive: true });
      writeFileSync(join(RUN_DIR, 'results.json'), JSON.stringify(results, null, 2));
      console.log('10,000-span trace:', JSON.stringify(results));
    } finally {
      await fresh.ctx.close();
    }
  });

  it('warns that a trace whose parent span is missing is incomplete', async () => {
    const id = await sendIncompleteTrace(ct.otlpHttp);
    await eventually('the incomplete trace to be stored', async () => {
      const t = await getJSON<Trace>(url(`/api/v1/traces/${id}`)).catch(() => undefined);
      return t && t.spans.length === 2 ? t : undefined;
    });
    await page.goto(url(`/traces/${id}`));
    await page.getByRole('note').getByText('1 span names a parent span that is not in the trace', { exact: false }).waitFor();
  });

  it('switches to the dark theme and remembers it', async () => {
    await page.goto(url('/'));
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.reload();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.locator('.functions-table').waitFor();
    await screenshot(page, 'functions-dark');
    await page.goto(coldTraceUrl);
    await page.locator('aside.span-details').waitFor();
    await screenshot(page, 'trace-dark');
    await page.getByRole('button', { name: 'Switch to light theme' }).click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
  });

  it('explains unknown traces, bad filters and API errors, and keeps working', async () => {
    await page.goto(url('/traces/ffffffffffffffffffffffffffffffff'));
    await page.getByText('Trace not found').waitFor();

    await page.goto(url('/traces?minDuration=fast'));
    await page.getByText(/is not a duration/).waitFor();

    // A value the API refuses: its message reaches the page.
    await page.goto(url('/traces?errorType=bogus'));
    await page.locator('.state-error').waitFor();
    expect(await page.locator('.state-error').innerText()).toMatch(/errorType/);

    await page.goto(url('/functions/no-such-function'));
    await page.getByText(/No invocations of no-such-function/).waitFor();

    await page.goto(url('/no/such/page'));
    await page.getByText('No such page').waitFor();

    // Still serving after all that.
    const status = await getJSON<{ status: string }>(url('/api/v1/status'));
    expect(status.status).toBe('ok');
  });
});

// Behaviours of single pages on the same server, with more data sent after
// the screenshots above were taken. Failures are injected only on the
// browser's way to the real server (page.route): the app's own fetch runs.
describe('web UI pages on data sent for them', () => {
  let data: PageData;
  const OUTAGE = { status: 503, contentType: 'application/json', body: JSON.stringify({ error: { message: 'ClickHouse is unreachable' } }) };
  const OUTAGE_LOGGED = /status of 503/;

  beforeAll(async () => {
    data = await sendPageData(ct.otlpHttp);
    await eventually('the page data to be queryable', async () => {
      const deps = await getJSON<Dependencies>(url('/api/v1/dependencies?start=now-1h'));
      const calls = (p: string, c: string) => deps.edges.find((e) => e.parent === p && e.child === c)?.calls;
      if (calls('ping', 'pong') !== 3 || calls('pong', 'ping') !== 7) return undefined;
      const pager = await getJSON<TraceSearch>(url(`/api/v1/traces?service=${PAGER_SERVICE}&start=now-1h&limit=100`));
      if (pager.traces.length !== PAGER_TRACES) return undefined;
      const fns = await getJSON<Functions>(url('/api/v1/functions?start=now-1h'));
      return fns.functions.filter((f) => f.name === MEMORY_FUNCTION && f.maxMemoryUsedBytes).length === MEMORY_VERSIONS.length
        ? true
        : undefined;
    });
  });

  /** A page of its own, for a test that changes what the network answers. */
  async function inFreshPage(test: (p: Page) => Promise<void>) {
    const fresh = await newPage();
    try {
      await test(fresh.page);
    } finally {
      await fresh.ctx.close();
    }
  }

  it('draws two services that call each other as two arrows, each with its own figures on its own curve', async () => {
    await page.goto(url('/map?range=1h'));
    const label = (id: string) => page.locator(`.react-flow__edge[data-id="${id}"] .react-flow__edge-text`);
    await expect.poll(() => label('ping->pong').textContent()).toMatch(/^3 calls · p95 /);
    await expect.poll(() => label('pong->ping').textContent()).toMatch(/^7 calls · p95 /);
    const drawn = await page.evaluate(() => {
      const box = (el: Element) => {
        const r = el.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height };
      };
      const edge = (id: string) => {
        const g = document.querySelector(`.react-flow__edge[data-id="${id}"]`)!;
        const path = g.querySelector<SVGPathElement>('path.react-flow__edge-path')!;
        const toScreen = path.getScreenCTM()!;
        const length = path.getTotalLength();
        const points = Array.from({ length: 401 }, (_, i) => {
          const p = path.getPointAtLength((length * i) / 400).matrixTransform(toScreen);
          return { x: p.x, y: p.y };
        });
        const label = box(g.querySelector('.react-flow__edge-textwrapper')!);
        // What is on top at the label's centre: this edge's label, or something over it.
        const top = document.elementFromPoint(label.x + label.width / 2, label.y + label.height / 2);
        return { d: path.getAttribute('d'), points, label, labelOnTop: !!top && g.contains(top) };
      };
      const node = (id: string) => box(document.querySelector(`.react-flow__node[data-id="${id}"]`)!);
      return {
        there: edge('ping->pong'),
        back: edge('pong->ping'),
        ping: node('ping'),
        pong: node('pong'),
        canvas: box(document.querySelector('.react-flow')!),
      };
    });
    type Box = (typeof drawn)['ping'];
    type Point = { x: number; y: number };
    const overlap = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
    const inside = (a: Box, b: Box) => a.x >= b.x && a.y >= b.y && a.x + a.width <= b.x + b.width && a.y + a.height <= b.y + b.height;
    const centre = (b: Box): Point => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });
    const distance = (p: Point, points: Point[]) => Math.min(...points.map((q) => Math.hypot(p.x - q.x, p.y - q.y)));
    /** How far p is from b's outline. */
    const offBorder = (p: Point, b: Box) => {
      const dx = Math.max(b.x - p.x, 0, p.x - (b.x + b.width));
      const dy = Math.max(b.y - p.y, 0, p.y - (b.y + b.height));
      const outside = Math.hypot(dx, dy);
      return outside > 0 ? outside : Math.min(p.x - b.x, b.x + b.width - p.x, p.y - b.y, b.y + b.height - p.y);
    };

    expect(drawn.there.d).not.toBe(drawn.back.d);
    expect(overlap(drawn.there.label, drawn.back.label)).toBe(false);
    for (const [edge, from, to] of [
      [drawn.there, drawn.ping, drawn.pong],
      [drawn.back, drawn.pong, drawn.ping],
    ] as const) {
      // Seen, on the canvas, on its own curve, which runs from border to border.
      expect(edge.labelOnTop).toBe(true);
      expect(inside(edge.label, drawn.canvas)).toBe(true);
      expect(distance(centre(edge.label), edge.points)).toBeLessThan(Math.max(edge.label.height / 2, 3));
      expect(offBorder(edge.points[0], from)).toBeLessThan(3);
      expect(offBorder(edge.points[edge.points.length - 1], to)).toBeLessThan(3);
    }
  });

  it('asks again for both the dependencies and the services with one "Try again" on the map', async () => {
    expectedErrors = [OUTAGE_LOGGED];
    await inFreshPage(async (p) => {
      let down = true;
      const asked: string[] = [];
      await p.route(/\/api\/v1\/(dependencies|services)\?/, (route) => {
        asked.push(new URL(route.request().url()).pathname);
        return down ? route.fulfill(OUTAGE) : route.continue();
      });
      await p.goto(url('/map?range=1h'));
      await p.getByRole('alert').getByText(/ClickHouse is unreachable/).waitFor();

      down = false;
      asked.splice(0);
      await p.getByRole('button', { name: 'Try again' }).click();
      await p.locator('.react-flow__edge[data-id="ping->pong"]').waitFor({ timeout: 10_000 });
      expect([...new Set(asked)].sort()).toEqual(['/api/v1/dependencies', '/api/v1/services']);
    });
  });

  it('keeps the rows shown when loading more fails, and retries from there', async () => {
    expectedErrors = [OUTAGE_LOGGED];
    await inFreshPage(async (p) => {
      let down = true;
      await p.route(/\/api\/v1\/traces\?.*cursor=/, (route) => (down ? route.fulfill(OUTAGE) : route.continue()));
      await p.goto(url(`/traces?range=1h&service=${PAGER_SERVICE}`));
      const rows = p.locator('.trace-table tbody a.trace-link');
      await p.getByText('50 traces so far, newest first').waitFor();

      await p.getByRole('button', { name: 'Load more' }).click();
      const alert = p.getByRole('region', { name: 'Results' }).getByRole('alert');
      await alert.getByText(/ClickHouse is unreachable/).waitFor();
      expect(await rows.count()).toBe(50);
      expect(await p.getByRole('button', { name: 'Load more' }).count()).toBe(0);

      down = false;
      await alert.getByRole('button', { name: 'Try again' }).click();
      await p.getByText(`${PAGER_TRACES} traces, newest first`).waitFor({ timeout: 10_000 });
      expect(await rows.count()).toBe(PAGER_TRACES);
      expect(await alert.count()).toBe(0);
    });
  });

  it('returns from a trace to the search it was opened from, filters and all', async () => {
    const search = '?range=1h&service=ping&minDuration=5ms';
    await page.goto(url(`/traces${search}`));
    await page.locator('.trace-table tbody a.trace-link').first().click();
    await page.waitForURL(/\/traces\/[0-9a-f]{32}/);
    const breadcrumb = page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link', { name: 'Traces' });
    await page.getByRole('tree').waitFor();
    expect(await breadcrumb.getAttribute('href')).toBe(`/traces${search}`);

    // Selecting a span rewrites the URL, not where the breadcrumb goes.
    await page.locator('[role=treeitem]').first().click();
    await page.getByRole('button', { name: 'Close span details' }).waitFor();
    expect(await breadcrumb.getAttribute('href')).toBe(`/traces${search}`);
    await breadcrumb.click();
    await page.waitForURL(url(`/traces${search}`));
    expect(await page.locator('label', { hasText: /^Service/ }).locator('select').inputValue()).toBe('ping');
    expect(await page.getByLabel('Min duration', { exact: true }).inputValue()).toBe('5ms');
  });

  it('keeps unapplied edits in the form when the time range changes', async () => {
    await page.goto(url('/traces?range=15m&service=ping&operation=GET%20%2Fping'));
    const operation = page.getByLabel('Operation', { exact: true });
    await expect.poll(() => operation.inputValue()).toBe('GET /ping');
    await operation.fill('GET /typed');

    await page.locator('.range-button').click();
    await page.getByRole('dialog', { name: 'Choose a time range' }).getByRole('button', { name: 'Last 6 hours' }).click();
    await page.waitForURL(/range=6h/);
    expect(await operation.inputValue()).toBe('GET /typed');

    // A URL with other filters (a link, the back button) still shows what it says.
    await page.goto(url('/traces?range=6h&service=ping&operation=GET%20%2Fother'));
    await expect.poll(() => operation.inputValue()).toBe('GET /other');
  });

  it('sends key= (has the key) to the API and lists only the traces that have it', async () => {
    const api = await getJSON<TraceSearch>(url(`/api/v1/traces?attr.${RALLY_KEY}=&start=now-1h&limit=50`));
    expect(new Set(api.traces.map((t) => t.traceId))).toEqual(new Set([...data.pingTraceIds, ...data.pongTraceIds]));
    await page.goto(url('/traces?range=1h'));
    await page.getByLabel('Attribute filter 1', { exact: true }).fill(`${RALLY_KEY}=`);
    const request = page.waitForRequest((r) => new URL(r.url()).searchParams.has(`attr.${RALLY_KEY}`));
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    expect(new URL((await request).url()).searchParams.get(`attr.${RALLY_KEY}`)).toBe('');
    const links = page.locator('.trace-table tbody a.trace-link');
    await expect.poll(() => page.getByText(`${api.traces.length} traces, newest first`).count()).toBe(1);
    expect(await links.count()).toBe(api.traces.length);
  });

  it('refuses two filters on one key in the form', async () => {
    await page.goto(url('/traces?range=1h'));
    await page.getByLabel('Attribute filter 1', { exact: true }).fill(`${RALLY_KEY}=ping`);
    await page.getByRole('button', { name: '+ Add attribute' }).click();
    await page.getByLabel('Attribute filter 2', { exact: true }).fill(`${RALLY_KEY}=pong`);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const refusal = page.getByRole('form', { name: 'Trace filters' }).getByRole('alert');
    await expect
      .poll(() => refusal.innerText())
      .toContain(`"${RALLY_KEY}=ping" and "${RALLY_KEY}=pong" are on the same key`);
    expect(new URL(page.url()).searchParams.getAll('attr')).toEqual([]);
  });

  it('shows its error page under the navigation when /functions answers an unexpected shape', async () => {
    // The error the page's error boundary caught is logged by React.
    expectedErrors = [/TypeError/];
    await inFreshPage(async (p) => {
      await p.route(/\/api\/v1\/functions\?/, (route) => route.fulfill({ status: 200, contentType: 'application/json', body: '{}' }));
      await p.goto(url('/?range=1h'));
      const alert = p.getByRole('alert').filter({ hasText: 'This page could not be shown' });
      await alert.waitFor();
      expect(await alert.innerText()).toMatch(/\/ failed: TypeError/);
      await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Traces' }).waitFor();
      expect(await p.getByText('Unexpected Application Error').count()).toBe(0);
    });
  });

  it('shows its error page under the navigation for a trace without its summary', async () => {
    expectedErrors = [/TypeError/];
    const id = data.pingTraceIds[0];
    await inFreshPage(async (p) => {
      await p.route(new RegExp(`/api/v1/traces/${id}(\\?|$)`), async (route) => {
        const real = await route.fetch();
        const { summary: _, ...trace } = (await real.json()) as Trace;
        await route.fulfill({ response: real, json: trace });
      });
      await p.goto(url(`/traces/${id}?range=1h`));
      const alert = p.getByRole('alert').filter({ hasText: 'This page could not be shown' });
      await alert.waitFor();
      expect(await alert.innerText()).toContain(`/traces/${id} failed`);
      await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Traces' }).waitFor();
    });
  });

  it("shows a function's peak memory against the limit of the version that had it", async () => {
    await page.goto(url(`/functions/${MEMORY_FUNCTION}?range=1h`));
    const peak = page.locator('.stat-card', { hasText: 'Peak memory' }).locator('dd');
    await expect.poll(() => peak.innerText()).toMatch(/^8\.46 MiB\s*of 128 MiB \(version 1\)$/);
    await page.locator('label', { hasText: 'Version' }).locator('select').selectOption('2');
    await expect.poll(() => peak.innerText()).toMatch(/^5\.23 MiB\s*of 256 MiB$/);
  });
});
