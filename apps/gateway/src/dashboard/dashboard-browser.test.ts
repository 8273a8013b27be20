import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfigInput } from '../config/config-schema.js';
import { createGateway, type Gateway } from '../gateway.js';

/** Debian's chromium (`.ci/run` installs it); playwright-core never downloads a browser. */
const chromiumPath = '/usr/bin/chromium';
const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const primaryRow = '[data-target="primary/gpt-4o-mini"]';

let primary: FakeUpstream;
let fallback: FakeUpstream;
let gateway: Gateway;
let url: string;
let browser: Browser;
let page: Page;

function gatewayConfig(): GatewayConfigInput {
  return {
    server: { port: 0 },
    providers: {
      primary: { plugin: 'openai', baseURL: primary.openaiBaseURL, apiKey: 'sk-browser-test-000' },
      fallback: { plugin: 'openai', baseURL: fallback.openaiBaseURL, apiKey: 'sk-browser-test-000' },
    },
    models: {
      chat: [
        { provider: 'primary', model: 'gpt-4o-mini' },
        { provider: 'fallback', model: 'gpt-4o-mini' },
      ],
    },
    retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
    breaker: { failureRatio: 0.5, minimumCalls: 2, windowMs: 10_000, cooldownMs: 500 },
    log: { level: 'error' },
  };
}

async function call(content: string): Promise<number> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

beforeAll(async () => {
  primary = await createFakeUpstream();
  fallback = await createFakeUpstream();
  gateway = await createGateway({ config: gatewayConfig() });
  url = await gateway.listen(0, '127.0.0.1');
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close({ drainTimeoutMs: 0 });
  await primary?.close();
  await fallback?.close();
});

describe('dashboard in headless Chromium', () => {
  it('shows a failing target open within a second and closed again after it recovers', async () => {
    await page.goto(`${url}/dashboard`);
    await page.locator('#status', { hasText: 'live' }).waitFor({ timeout: 5000 });

    expect(await call('hello')).toBe(200);
    expect(await call('a popular question')).toBe(200);
    expect(await call('a popular question')).toBe(200);
    await page.locator(`${primaryRow} [data-breaker="closed"]`).waitFor({ timeout: 2000 });

    primary.setDefault({ kind: 'status', status: 503 });
    for (const content of ['one', 'two', 'three']) expect(await call(content)).toBe(200);
    const failedAt = Date.now();
    await page.locator(`${primaryRow} [data-breaker="open"]`).waitFor({ timeout: 1000 });
    expect(Date.now() - failedAt).toBeLessThan(1000);
    await expect.poll(() => page.locator('#fallbacks').textContent(), { timeout: 1000 }).not.toBe('0');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: `${artifacts}dashboard-open.png`, fullPage: true });

    primary.setDefault({ kind: 'reply' });
    await new Promise((resolve) => setTimeout(resolve, 600));
    // The next call after the cooldown is the probe; it succeeds and closes the breaker.
    expect(await call('after recovery')).toBe(200);
    await page.locator(`${primaryRow} [data-breaker="closed"]`).waitFor({ timeout: 1000 });
    expect(await page.locator('#hits').textContent()).toBe('1');
    await page.screenshot({ path: `${artifacts}dashboard-closed.png`, fullPage: true });
  }, 30_000);

  it('reconnects by itself when the gateway restarts, and shows the new one', async () => {
    await page.goto(`${url}/dashboard`);
    await page.locator('#status', { hasText: 'live' }).waitFor({ timeout: 5000 });
    expect(Number(await page.locator('#calls').textContent())).toBeGreaterThan(0);
    const port = Number(new URL(url).port);
    await gateway.close({ drainTimeoutMs: 0 });
    await page.locator('#status', { hasText: 'reconnecting' }).waitFor({ timeout: 5000 });
    gateway = await createGateway({ config: gatewayConfig() });
    url = await gateway.listen(port, '127.0.0.1');
    // EventSource retries by itself (the stream's `retry: 1000`); the snapshot on connect is the new gateway's.
    await page.locator('#status', { hasText: 'live' }).waitFor({ timeout: 5000 });
    await expect.poll(() => page.locator('#calls').textContent(), { timeout: 2000 }).toBe('0');
    expect(await call('after the restart')).toBe(200);
    await expect.poll(() => page.locator('#calls').textContent(), { timeout: 2000 }).toBe('1');
  }, 30_000);
});
