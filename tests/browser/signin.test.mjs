// Signing in with the office's identity provider: a real oidc-provider on
// loopback (started and restarted here), Chromium on its login form, then
// the dashboard with only that user's regions, an edit where the user may,
// signing out at the provider, a key rotation, and the provider down.
// Environment beside browser.mjs's: PROVIDER_DIR (the installed
// tests/oidc-provider), PROVIDER_PORT (the issuer's port the service was
// started with), KEYS_FIRST and KEYS_ROTATED (PEM files for provider.mjs),
// REFRESH_SECS (the service's KPSS_OIDC_REFRESH).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { BASE, launch, screenshot, violations } from './browser.mjs';

const ISSUER = `http://127.0.0.1:${process.env.PROVIDER_PORT}`;
const REFRESH_MS = Number(process.env.REFRESH_SECS) * 1000;
const CREATE = 'mutation($r: String!) { createProvider(input: { region: $r, name: "Poskytovatel z přihlášení" }) { id } }';

let browser;
let page;
let provider = null;

/** provider.mjs with `keys`, on the issuer's port; resolves once it listens. */
async function startProvider(keys) {
  const dir = process.env.PROVIDER_DIR;
  const child = spawn(join(dir, 'node_modules/.bin/node'), ['provider.mjs'], {
    cwd: dir,
    // Access tokens of 65 s: the pages renew them a minute early, so within seconds.
    env: { ...process.env, PORT: process.env.PROVIDER_PORT, KEYS: keys, REDIRECT_URIS: `${BASE}/,${BASE}/graphql`, ACCESS_TTL: '65' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    if (line === `ready ${ISSUER}`) break;
  }
  provider = child;
}

async function stopProvider() {
  if (!provider) return;
  const exited = new Promise((ok) => provider.once('exit', ok));
  provider.kill();
  await exited;
  provider = null;
}

before(async () => {
  await startProvider(process.env.KEYS_FIRST);
  browser = await launch();
  page = browser.page;
});
after(async () => {
  await browser?.close();
  await stopProvider();
});

/** The page's access token and a GraphQL request with it. */
const pageToken = () => page.evaluate(() => sessionStorage.getItem('kpss.token'));
async function asPage(token, query, variables = {}) {
  const response = await fetch(`${BASE}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: await response.json() };
}

/** Through the provider's own login form, back to the dashboard. */
async function signIn(login) {
  await page.goto(BASE);
  await page.locator('#provider-button').click();
  await page.waitForURL((url) => url.origin === ISSUER);
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('any password');
  if (login === 'editor-klatovy') await screenshot(page, 'signin-provider.png');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.waitForURL((url) => url.origin === new URL(BASE).origin);
  await page.locator('#dashboard').waitFor();
  await page.locator('#evaluation-chart table').waitFor();
  await page.locator('#live-state', { hasText: 'připojeny' }).waitFor();
  // The address carries no code or state any more.
  assert.equal(new URL(page.url()).search, '');
}

async function signOut() {
  await page.getByRole('button', { name: 'Odhlásit' }).click();
  // The provider asks to confirm the end of its session, then sends the user back.
  await page.waitForURL((url) => url.origin === ISSUER);
  await page.getByRole('button', { name: /Yes, sign me out/i }).click();
  await page.waitForURL((url) => url.origin === new URL(BASE).origin);
  await page.locator('#provider-button').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
}

test('the pages learn the provider from /config.json; the CSP admits exactly its origin', async () => {
  const config = await (await fetch(`${BASE}/config.json`)).json();
  assert.equal(config.issuer, ISSUER);
  assert.equal(config.clientId, 'kpss-pages');
  for (const path of ['/', '/graphql']) {
    const csp = (await fetch(`${BASE}${path}`)).headers.get('content-security-policy');
    assert.match(csp, new RegExp(`connect-src 'self' ${ISSUER.replace(/[.:/]/g, '\\$&')};`), path);
  }
  await page.goto(BASE);
  assert.deepEqual(await violations(page), []);
});

test('the Klatovy editor signs in at the provider, sees Klatovy only and may edit there', async () => {
  await signIn('editor-klatovy');
  assert.match(await page.locator('#who-text').textContent(), /^editor-klatovy \(.+\) · regiony: Klatovy$/);
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'signin-dashboard.png');
  const token = await pageToken();
  const created = await asPage(token, CREATE, { r: 'klatovy' });
  assert.equal(created.status, 200);
  assert.equal(created.body.errors, undefined, JSON.stringify(created.body));
  // The page's own live changes show the edit.
  await page.locator('#changes li', { hasText: 'editor-klatovy' }).first().waitFor();
  const elsewhere = await asPage(token, CREATE, { r: 'kromeriz' });
  assert.equal(elsewhere.body.errors[0].extensions.code, 'FORBIDDEN');
  await signOut();
  // Signed out at the provider too: the next sign-in asks for the login again.
  await page.locator('#provider-button').click();
  await page.locator('input[name=login]').waitFor();
  await page.goto(BASE);
});

test('the CZ072 viewer sees Kroměříž only and may not edit', async () => {
  await signIn('viewer-cz072');
  assert.match(await page.locator('#who-text').textContent(), /^viewer-cz072 \(.+\) · regiony: Kroměříž$/);
  const denied = await asPage(await pageToken(), CREATE, { r: 'kromeriz' });
  assert.equal(denied.body.errors[0].extensions.code, 'FORBIDDEN');
});

test('the page renews its access token before it expires', async () => {
  const first = await pageToken();
  await page.waitForFunction((first) => sessionStorage.getItem('kpss.token') !== first, first, { timeout: 20_000 });
  const renewed = await pageToken();
  const me = await asPage(renewed, '{ me { subject } }');
  assert.equal(me.body.data.me.subject, 'viewer-cz072');
  assert.equal(await page.locator('#dashboard').isVisible(), true);
  assert.match(await page.locator('#live-state').textContent(), /připojeny/);
});

test('GraphiQL shares the sign-in of the tab, signs out and in with the provider', async () => {
  await page.goto(`${BASE}/graphql`);
  await page.locator('#provider-state', { hasText: 'Přihlášeno' }).waitFor();
  await page.locator('#provider-button', { hasText: 'Odhlásit' }).click();
  await page.waitForURL((url) => url.origin === ISSUER);
  await page.getByRole('button', { name: /Yes, sign me out/i }).click();
  await page.waitForURL((url) => url.pathname === '/graphql');
  await page.locator('#provider-button', { hasText: 'Přihlásit' }).click();
  await page.locator('input[name=login]').fill('viewer-cz072');
  await page.locator('input[name=password]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.waitForURL((url) => url.pathname === '/graphql' && url.search === '');
  await page.locator('#provider-state', { hasText: 'Přihlášeno' }).waitFor();
  const me = await asPage(await pageToken(), '{ me { subject } }');
  assert.equal(me.body.data.me.subject, 'viewer-cz072');
});

test('keys rotate: a new sign-in works at once, the removed key stops within the refresh period', async () => {
  const old = await pageToken();
  assert.equal((await asPage(old, '{ me { subject } }')).status, 200);
  await stopProvider();
  await startProvider(process.env.KEYS_ROTATED);
  const rotated = Date.now();
  // The provider's in-memory store lost the session (and the refresh token):
  // the tab starts over with a new sign-in, and its token works at once.
  await page.evaluate(() => sessionStorage.clear());
  await signIn('viewer-cz072');
  assert.equal((await asPage(await pageToken(), '{ me { subject } }')).status, 200);
  for (;;) {
    const { status, body } = await asPage(old, '{ me { subject } }');
    if (status === 401) {
      assert.equal(body.errors[0].extensions.code, 'UNAUTHENTICATED');
      break;
    }
    assert.ok(Date.now() - rotated < REFRESH_MS + 3000, 'the removed key still works after the refresh period');
    await new Promise((ok) => setTimeout(ok, 250));
  }
});

test('the provider down: the page says so, the API refuses, nothing crashes', async () => {
  await page.getByRole('button', { name: 'Odhlásit' }).click();
  await page.waitForURL((url) => url.origin === ISSUER);
  await stopProvider();
  await page.goto(BASE);
  await page.locator('#provider-button').click();
  await page.locator('#provider-error', { hasText: 'není dostupný' }).waitFor();
  assert.equal(await page.locator('#dashboard').isHidden(), true);
  const refused = await asPage('not-a-token', '{ me { subject } }');
  assert.equal(refused.body.errors[0].extensions.code, 'UNAUTHENTICATED');
  assert.deepEqual(browser.problems.filter((p) => p.startsWith('page error')), []);
});
