// Headless Debian Chromium through playwright-core, as on a closed network:
// no background connections, a fresh profile, every request logged.

import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

export const BASE = process.env.KPSS_URL;
export const SCREENSHOTS = process.env.KPSS_SCREENSHOTS;
if (!BASE || !process.env.CHROMIUM || !SCREENSHOTS) {
  throw new Error('KPSS_URL, CHROMIUM and KPSS_SCREENSHOTS must be set');
}

const ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync', '--disable-quic', '--disable-default-apps', '--disable-extensions',
  '--lang=cs-CZ',
];

/** A browser with a fresh profile; `requests` lists every URL any page asked for. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'kpss-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: ARGS,
    locale: 'cs-CZ',
    viewport: { width: 1280, height: 900 },
  });
  const requests = [];
  const problems = [];
  context.on('request', (r) => requests.push(r.url()));
  const watch = (page) => {
    page.on('websocket', (ws) => requests.push(ws.url()));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    requests,
    problems,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The URLs that went anywhere but this service (HTTP and WebSocket). */
export function outside(requests) {
  const base = new URL(BASE);
  return requests.filter((url) => {
    // A blob: URL (a download the page made) names the page's own origin.
    const u = url.startsWith('blob:') ? new URL(url.slice(5)) : new URL(url);
    return !(['http:', 'ws:'].includes(u.protocol) && u.host === base.host);
  });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations on the page (or within `include`), as short lines. */
export async function violations(page, include) {
  // Evaluated through the DevTools protocol: neither a request nor subject to the page's CSP.
  await page.evaluate(axeSource);
  const result = await page.evaluate(
    (include) => window.axe.run(include ? { include: [include] } : document, { resultTypes: ['violations'] }),
    include ?? null,
  );
  return result.violations.map((v) =>
    `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
}

export async function screenshot(page, name, options = {}) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, name), ...options });
}

/** The subscriptions listening for changes in the service now (from /metrics). */
export async function subscribers() {
  const text = await (await fetch(`${BASE}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('kpss_change_subscribers '));
  if (!line) throw new Error('kpss_change_subscribers is not in /metrics');
  return Number(line.split(' ')[1]);
}

/** A GraphQL request from the test itself (not the browser). */
export async function api(token, query, variables = {}) {
  const response = await fetch(`${BASE}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}
