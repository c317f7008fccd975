// End-to-end: the web UI of a `coldtrace up --auth-token`. The static
// files load without the token; the API's 401 opens the token dialog; a
// wrong token is refused; the right one is kept in the browser, sent with
// every API call, survives a reload, and can be forgotten.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Trace } from '../src/api/types';
import { launchChromium, watchErrors } from './browser';
import { authHeaders, eventually, getJSON, SCREENSHOTS, startColdtrace, type Coldtrace } from './harness';

const TOKEN = `e2e-${randomBytes(12).toString('hex')}`;
const SERVICE = 'guarded-service';

let ct: Coldtrace;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let traceId: string;
const pageErrors: string[] = [];
/** Every API request the page made, with its Authorization header. */
const apiRequests: { url: string; authorization?: string }[] = [];

/** Sends one span over OTLP/HTTP JSON, with the token, and returns its trace id. */
async function sendSpan(): Promise<string> {
  const id = randomBytes(16).toString('hex');
  const now = BigInt(Date.now()) * 1_000_000n;
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: SERVICE } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: id,
                spanId: randomBytes(8).toString('hex'),
                name: 'guarded work',
                kind: 2,
                startTimeUnixNano: String(now - 5_000_000_000n),
                endTimeUnixNano: String(now - 4_000_000_000n),
              },
            ],
          },
        ],
      },
    ],
  };
  const res = await fetch(`${ct.otlpHttp}/v1/traces`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...authHeaders(TOKEN) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`OTLP/HTTP answered ${res.status}: ${await res.text()}`);
  return id;
}

const url = (path: string) => `${ct.baseUrl}${path}`;
const dialog = () => page.getByRole('dialog', { name: 'API token needed' });
const resultLinks = () => page.locator('.trace-table tbody a.trace-link');

beforeAll(async () => {
  ct = await startColdtrace(['--auth-token', TOKEN], TOKEN);
  try {
    traceId = await sendSpan();
    await eventually('the span to be queryable', () => getJSON<Trace>(url(`/api/v1/traces/${traceId}`), TOKEN));
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    watchErrors(page, pageErrors);
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/api/')) apiRequests.push({ url: r.url(), authorization: r.headers().authorization });
    });
  } catch (err) {
    console.error(ct?.logTail());
    throw err;
  }
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await ct?.stop();
});

afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});

describe('web UI of a coldtrace that requires a token', () => {
  it('serves the UI to anyone and the API only with the token', async () => {
    const index = await fetch(url('/'));
    expect(index.status).toBe(200);
    const html = await index.text();
    const script = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
    expect(script).toBeTruthy();
    expect((await fetch(url(script!))).status).toBe(200);
    expect((await fetch(url('/api/v1/status'))).status).toBe(401);
    expect((await fetch(url('/api/v1/status'), { headers: authHeaders(TOKEN) })).status).toBe(200);
  });

  it('asks for the token, refuses a wrong one, then shows the data', async () => {
    await page.goto(url(`/traces?service=${SERVICE}`));
    await dialog().waitFor();
    // The dialog takes the focus, on its token field.
    const input = dialog().getByLabel('API token');
    await expect.poll(() => input.evaluate((el) => el === document.activeElement)).toBe(true);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'token-dialog.png') });

    await input.fill('not-the-right-token');
    await dialog().getByRole('button', { name: 'Use token' }).click();
    await dialog().getByRole('alert').filter({ hasText: 'refused' }).waitFor();

    const before = apiRequests.length;
    await input.fill(TOKEN);
    await dialog().getByRole('button', { name: 'Use token' }).click();
    await dialog().waitFor({ state: 'hidden' });
    await expect.poll(() => resultLinks().count()).toBe(1);
    expect(await resultLinks().first().getAttribute('href')).toContain(traceId);
    expect(await page.evaluate(() => localStorage.getItem('coldtrace.apiToken'))).toBe(TOKEN);
    // Every API call since carries the token.
    const since = apiRequests.slice(before);
    expect(since.length).toBeGreaterThan(0);
    expect(since.filter((r) => r.authorization !== `Bearer ${TOKEN}`)).toEqual([]);
  });

  it('keeps the token across a reload and in a new page', async () => {
    await page.reload();
    await expect.poll(() => resultLinks().count()).toBe(1);
    await page.goto(url(`/traces/${traceId}`));
    await page.locator('[role=treeitem][data-span-name="guarded work"]').waitFor();
    expect(await dialog().isVisible()).toBe(false);
  });

  it('forgets the token, and asks again', async () => {
    await page.goto(url(`/traces?service=${SERVICE}`));
    await expect.poll(() => resultLinks().count()).toBe(1);
    await page.getByRole('button', { name: 'Forget token' }).click();
    await dialog().waitFor();
    expect(await page.evaluate(() => localStorage.getItem('coldtrace.apiToken'))).toBeNull();
    // Dismissed, the page says what is missing and offers the dialog again.
    await page.keyboard.press('Escape');
    await dialog().waitFor({ state: 'hidden' });
    await page.getByText('API token needed').first().waitFor();
    await page.getByRole('button', { name: 'Enter API token' }).first().click();
    await dialog().waitFor();
    await dialog().getByLabel('API token').fill(TOKEN);
    await page.keyboard.press('Enter');
    await expect.poll(() => resultLinks().count()).toBe(1);
  });
});
