// GraphiQL at GET /graphql, offline: its files come from the service, the
// token from the field above it, and a query runs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, api, launch, outside, screenshot, subscribers, violations } from './browser.mjs';

const NATIONAL = process.env.NATIONAL_TOKEN;
const EDITOR = process.env.KLATOVY_EDITOR_TOKEN;
let browser;

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('GraphiQL loads from the service alone and shows the README examples as tabs', async () => {
  const { page } = browser;
  await page.goto(`${BASE}/graphql`);
  await page.locator('.graphiql-container').waitFor();
  const tabs = await page.locator('.graphiql-tab').allTextContents();
  for (const name of ['WhoAmI', 'BedsByServiceType', 'FulfilledMeasures', 'Search', 'Changes']) {
    assert.ok(tabs.some((t) => t.includes(name)), `a tab ${name} in ${JSON.stringify(tabs)}`);
  }
});

test('without a token the query is answered 401 UNAUTHENTICATED', async () => {
  const { page } = browser;
  await page.locator('.graphiql-tab', { hasText: 'WhoAmI' }).first().click();
  await page.locator('.graphiql-execute-button').click();
  await page.locator('.result-window', { hasText: 'UNAUTHENTICATED' }).waitFor();
});

test('a pasted token runs the query and loads the schema', async () => {
  const { page } = browser;
  await page.getByLabel('Token (JWT)').fill(NATIONAL);
  await page.getByRole('button', { name: 'Použít token' }).click();
  await page.locator('#token-state', { hasText: 'Token je nastaven' }).waitFor();
  await page.locator('.graphiql-execute-button').click();
  const result = page.locator('.result-window', { hasText: 'Kroměříž' });
  await result.waitFor();
  const text = await result.textContent();
  for (const region of ['Chomutov', 'Karlovy Vary', 'Klatovy', 'Kroměříž']) {
    assert.ok(text.includes(region), `${region} in the result`);
  }
  assert.ok(!text.includes('UNAUTHENTICATED'), text);
  // The schema arrived with the token: the documentation explorer lists the root types.
  await page.locator('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]').click();
  await page.locator('.graphiql-doc-explorer', { hasText: 'Query' }).waitFor();
  await page.locator('.graphiql-sidebar button[aria-label="Hide Documentation Explorer"]').click();
  await screenshot(page, 'graphiql.png');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('kpss.token')), NATIONAL);
});

test('the Changes tab subscribes over /graphql/ws and shows a change made through the API', async () => {
  const { page } = browser;
  await page.locator('.graphiql-tab', { hasText: 'Changes' }).first().click();
  const listening = await subscribers();
  const socket = page.waitForEvent('websocket');
  await page.locator('.graphiql-execute-button').click();
  assert.equal(new URL((await socket).url()).pathname, '/graphql/ws');
  // Write only once the subscription listens in the service.
  const deadline = Date.now() + 10000;
  while ((await subscribers()) <= listening) {
    assert.ok(Date.now() < deadline, 'the subscription listens within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await api(EDITOR, 'mutation { createProvider(input: { region: "klatovy", name: "Poskytovatel z GraphiQL" }) { id } }');
  const result = page.locator('.result-window', { hasText: 'CREATED' });
  await result.waitFor({ timeout: 10000 });
  assert.match(await result.textContent(), /"Provider"[\s\S]*"editor-klatovy"/);
});

test('the token bar has no accessibility violations', async () => {
  assert.deepEqual(await violations(browser.page, '.token-bar'), []);
});

test('no request left the service, and the page logged no errors', async () => {
  assert.ok(browser.requests.length > 5, `requests were logged: ${browser.requests.length}`);
  assert.deepEqual(outside(browser.requests), []);
  // 401 is what the service answered on purpose (the query without a token).
  const problems = browser.problems.filter((p) => !p.includes('status of 401'));
  assert.deepEqual(problems, []);
});
