// The dashboard at /: sign in with a pasted token, the charts of the
// caller's regions, the measures table with its filters and detail view,
// live changes, accessibility, and no request outside the service.
// Expected numbers come from the API itself, asked with the same token.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, api, launch, outside, screenshot, violations } from './browser.mjs';

const NATIONAL = process.env.NATIONAL_TOKEN;
const KLATOVY = process.env.KLATOVY_TOKEN;
const EDITOR = process.env.KLATOVY_EDITOR_TOKEN;
const ALL_REGIONS = ['chomutov', 'karlovy-vary', 'klatovy', 'kromeriz'];
const NBSP = '\u00a0';

let browser;
let page;

before(async () => {
  browser = await launch();
  page = browser.page;
});
after(async () => {
  await browser?.close();
});

/** A form control by its label's exact text. */
const field = (label) => page.getByLabel(label, { exact: true });
const attributes = (selector, name) =>
  page.locator(selector).evaluateAll((nodes, name) => [...new Set(nodes.map((n) => n.getAttribute(name)))], name);
const shownCount = async () => (await page.locator('#measure-count').textContent()).replace(/\s/g, ' ');
const czCount = (n) => new Intl.NumberFormat('cs-CZ').format(n).replace(/\s/g, ' ');

/** Waits until the table's status line says `total` measures (a filter has been applied). */
async function waitForTotal(total) {
  const text = total === 0 ? 'žádné opatření' : `z ${czCount(total)} opatření`;
  await page.waitForFunction(
    (text) => document.getElementById('measure-count').textContent.replace(/\s/g, ' ').includes(text),
    text,
  );
}

/** No value the page failed to fill in shows as text. */
async function noMissingValues() {
  assert.doesNotMatch(await page.locator('body').innerText(), /\b(null|undefined|NaN)\b/);
}

async function signIn(token) {
  await field('Přístupový token (JWT)').fill(token);
  await page.getByRole('button', { name: 'Přihlásit' }).click();
  await page.locator('#dashboard').waitFor();
  await page.locator('#capacity-chart table').waitFor();
  await page.locator('#evaluation-chart table').waitFor();
  await page.locator('#measures tbody tr').first().waitFor();
  await page.locator('#live-state', { hasText: 'připojeny' }).waitFor();
}

test('a token that is not valid is refused on the sign-in form', async () => {
  await page.goto(BASE);
  assert.deepEqual(await violations(page), []);
  await field('Přístupový token (JWT)').fill('not-a-token');
  await page.getByRole('button', { name: 'Přihlásit' }).click();
  await page.locator('#sign-in-error', { hasText: 'Token není platný' }).waitFor();
  assert.equal(await page.locator('#dashboard').isHidden(), true);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
});

test('a national token shows the charts of all four regions, in Czech', async () => {
  await signIn(NATIONAL);
  assert.match(await page.locator('#who-text').textContent(), /Chomutov, Karlovy Vary, Klatovy, Kroměříž/);
  // Every region has a group of plans in the evaluation chart.
  assert.deepEqual(await attributes('#evaluation-chart tbody[data-region]', 'data-region'), ALL_REGIONS);
  // Capacities: the regions that have them as bars, the others named as without data.
  const capacity = await api(NATIONAL, '{ capacitySummary(groupBy: [REGION]) { region { code name } } }');
  const withData = [...new Set(capacity.capacitySummary.map((g) => g.region.code))].sort();
  await field('Jednotka').selectOption('CLIENTS_AT_ONCE');
  assert.deepEqual((await attributes('#capacity-chart tr[data-region]', 'data-region')).sort(), withData);
  const without = ALL_REGIONS.filter((r) => !withData.includes(r));
  if (without.length) {
    const note = await page.locator('#capacity-missing').textContent();
    for (const g of (await api(NATIONAL, '{ regions { code name } }')).regions) {
      assert.equal(note.includes(g.name), without.includes(g.code), `${g.name} in "${note}"`);
    }
  }
  // Service types in Czech order (which here differs from code-point order).
  const types = await page.locator('#capacity-chart tbody th[scope="row"]').allTextContents();
  assert.deepEqual(types, [...types].sort((a, b) => a.localeCompare(b, 'cs')));
  assert.notDeepEqual(types, [...types].sort(), 'the data tells Czech order from code-point order');
  // Beds and clients are never added: each unit has a chart of its own.
  const beds = await api(NATIONAL, '{ capacitySummary(filter: { units: [BEDS] }, groupBy: [UNIT]) { total } }');
  await field('Jednotka').selectOption('BEDS');
  const bedValues = await page.locator('#capacity-chart td .value').allTextContents();
  const sum = bedValues.reduce((n, v) => n + Number(v.replace(/\s/g, '')), 0);
  assert.equal(sum, beds.capacitySummary[0].total);
  await noMissingValues();
  await screenshot(page, 'dashboard.png', { fullPage: true });
  assert.deepEqual(await violations(page), []);
});

test('the evaluation chart counts every measure of a plan, by its latest status', async () => {
  const plans = (await api(NATIONAL, '{ plans(first: 100) { nodes { id } } }')).plans.nodes;
  for (const { id } of plans) {
    const { measures } = await api(NATIONAL, 'query($id: ID!) { measures(filter: { planId: $id }) { totalCount } }', { id });
    const row = page.locator(`#evaluation-chart tr[data-plan="${id}"] td.value`);
    if (measures.totalCount === 0) assert.equal(await row.count(), 0);
    else assert.equal((await row.textContent()).replace(/\s/g, ''), String(measures.totalCount), `plan ${id}`);
  }
});

test('the measures table filters by region, plan, status, target group and text', async () => {
  const count = async (filter) =>
    (await api(NATIONAL, 'query($f: MeasureFilter) { measures(filter: $f) { totalCount } }', { f: filter })).measures.totalCount;
  const all = await count({});
  await waitForTotal(all);

  await field('Region').selectOption('kromeriz');
  await waitForTotal(await count({ regions: ['kromeriz'] }));
  assert.deepEqual(await page.locator('#measures tbody td .region-name').evaluateAll((t) => [...new Set(t.map((c) => c.textContent))]), ['Kroměříž']);

  await field('Stav').selectOption('FULFILLED');
  const fulfilled = await count({ regions: ['kromeriz'], status: 'FULFILLED' });
  assert.ok(fulfilled > 0);
  await waitForTotal(fulfilled);
  assert.deepEqual(await page.locator('#measures tbody .badge').evaluateAll((b) => [...new Set(b.map((x) => x.textContent.split(' (')[0]))]), ['splněno']);

  await page.getByRole('button', { name: 'Zrušit filtr' }).click();
  await waitForTotal(all);

  const plan = (await api(NATIONAL, '{ plans(filter: { regions: ["karlovy-vary"] }, first: 100) { nodes { id } } }')).plans.nodes;
  const withMeasures = [];
  for (const p of plan) if ((await count({ planId: p.id })) > 0) withMeasures.push(p.id);
  await field('Region').selectOption('karlovy-vary');
  await field('Plán').selectOption(withMeasures[0]);
  await waitForTotal(await count({ regions: ['karlovy-vary'], planId: withMeasures[0] }));
  await page.getByRole('button', { name: 'Zrušit filtr' }).click();
  await waitForTotal(all);

  // Typing filters without a button: target group, then a search without diacritics.
  await field('Cílová skupina').fill('zdravotnim postizenim');
  const target = await count({ targetGroup: 'zdravotnim postizenim' });
  assert.ok(target > 0 && target < all);
  await waitForTotal(target);
  await field('Cílová skupina').fill('');
  await field('Hledat v textu').fill('senior');
  const text = await count({ text: 'senior' });
  assert.ok(text > 0 && text < all);
  await waitForTotal(text);
  assert.ok((await page.locator('#measures .snippet').count()) > 0, 'search excerpts are shown');
  assert.match(await shownCount(), new RegExp(`z ${czCount(text)} opatření`));
});

test('a plan and a year of its evaluation download as DOCX and PDF', async () => {
  const { nodes } = (await api(NATIONAL, '{ plans(filter: { regions: ["klatovy"] }, first: 100) { nodes { id title } } }')).plans;
  const plan = nodes.find((p) => p.title === 'Akční plán na rok 2023');
  assert.equal(await page.locator('#plan-documents').isHidden(), true);
  await field('Plán').selectOption(plan.id);
  await page.locator('#plan-documents').waitFor();
  const save = async (group, format) => {
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('group', { name: group, exact: true }).getByRole('button', { name: `Stáhnout ${format}` }).click(),
    ]);
    const bytes = readFileSync(await file.path());
    return { name: file.suggestedFilename(), head: bytes.subarray(0, 4).toString('latin1') };
  };
  assert.deepEqual(await save('Dokument plánu', 'PDF'), { name: 'Akční plán na rok 2023.pdf', head: '%PDF' });
  await field('Vyhodnocení roku').selectOption('2023');
  assert.deepEqual(await save('Dokument vyhodnocení', 'DOCX'),
    { name: 'Vyhodnocení 2023 – Akční plán na rok 2023.docx', head: 'PK\u0003\u0004' });
  assert.equal(await page.locator('#documents-state').textContent(), '');
  assert.deepEqual(await violations(page, '#plan-documents'), []);
  await page.getByRole('button', { name: 'Zrušit filtr' }).click();
  await page.locator('#plan-documents').waitFor({ state: 'hidden' });
});

test('a measure opens from the keyboard with its evaluations, activities and costs', async () => {
  // A measure with evaluations and a cost of at least 1 000 Kč, found by its title.
  const { measures } = await api(NATIONAL, '{ measures(filter: { regions: ["kromeriz"] }, first: 100) { nodes { id title evaluations { year } expectedCost { amountCzk } source { document firstLine excerpt } } } }');
  const m = measures.nodes.find((n) => n.evaluations.length && n.expectedCost?.amountCzk >= 1000);
  await page.getByRole('button', { name: 'Zrušit filtr' }).click();
  await field('Region').selectOption('kromeriz');
  await field('Hledat v textu').fill(m.title);
  await waitForTotal((await api(NATIONAL, 'query($t: String!) { measures(filter: { regions: ["kromeriz"], text: $t }) { totalCount } }', { t: m.title })).measures.totalCount);
  const button = page.locator(`#measures button[data-measure="${m.id}"]`);
  await button.waitFor();
  // Tab from the search field to the measure's button, then Enter.
  await field('Hledat v textu').focus();
  for (let i = 0; i < 30 && !(await button.evaluate((b) => b === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  assert.ok(await button.evaluate((b) => b === document.activeElement), 'the measure is reachable with Tab');
  await page.keyboard.press('Enter');
  const dialog = page.locator('#measure-detail');
  await dialog.locator('h3', { hasText: 'Hodnocení' }).waitFor();
  assert.ok(await dialog.evaluate((d) => d.open));
  assert.ok((await dialog.locator('table.evaluations tbody tr').count()) >= m.evaluations.length);
  const money = new Intl.NumberFormat('cs-CZ', { style: 'currency', currency: 'CZK', maximumFractionDigits: 0 }).format(m.expectedCost.amountCzk);
  assert.ok(money.includes(NBSP), `Intl writes a no-break space: ${JSON.stringify(money)}`);
  const detail = await dialog.textContent();
  assert.ok(detail.includes(money), `${money} in the detail`);
  // Where the plan says it: its document, first line and excerpt.
  for (const part of [m.source.document, String(m.source.firstLine), m.source.excerpt]) {
    assert.ok(detail.includes(part), `${part} in the detail's source`);
  }
  assert.doesNotMatch(detail, /null|undefined|NaN/);
  assert.deepEqual(await violations(page, '#measure-detail'), []);
  await screenshot(page, 'measure.png');
  await page.keyboard.press('Escape');
  assert.equal(await dialog.evaluate((d) => d.open), false);
  // The dialog's close event, which hands focus back, comes after the key: wait for it.
  await page.waitForFunction((id) => document.activeElement?.dataset.measure === id, m.id, { timeout: 5000 })
    .catch(() => assert.fail('focus returns to the measure'));

  // A measure that rests on a reading of the document's layout says so.
  const read = (await api(NATIONAL, '{ measures(filter: { regions: ["chomutov"] }, first: 100) { nodes { id title reading } } }'))
    .measures.nodes.find((n) => n.reading);
  await field('Region').selectOption('chomutov');
  await field('Hledat v textu').fill(read.title);
  const readButton = page.locator(`#measures button[data-measure="${read.id}"]`);
  await readButton.click();
  await dialog.locator('dt', { hasText: 'Čtení dokumentu' }).waitFor();
  assert.ok((await dialog.textContent()).includes(read.reading), 'the reading in the detail');
  await page.keyboard.press('Escape');

  // A measure with activities.
  const withActivities = (await api(NATIONAL, '{ measures(first: 100) { nodes { id title activities { code title } } } }'))
    .measures.nodes.find((n) => n.activities.length);
  await page.getByRole('button', { name: 'Zrušit filtr' }).click();
  await field('Hledat v textu').fill(withActivities.title);
  await page.locator(`#measures button[data-measure="${withActivities.id}"]`).click();
  await dialog.locator('.activities li').first().waitFor();
  assert.ok((await dialog.locator('.activities').textContent()).includes(withActivities.activities[0].title));
  await page.getByRole('button', { name: 'Zavřít' }).click();
  await page.getByRole('button', { name: 'Zrušit filtr' }).click();
});

test('changes made through the API appear without a reload', async () => {
  await page.evaluate(() => { window.notReloaded = true; });
  const { measures } = await api(EDITOR, '{ measures(filter: { regions: ["klatovy"] }, first: 1) { nodes { id version } } }');
  const [m] = measures.nodes;
  await field('Region').selectOption('klatovy');
  await page.locator(`#measures button[data-measure="${m.id}"]`).waitFor();
  const title = `Živě změněné opatření ${Date.now()}`;
  await api(EDITOR, 'mutation($id: ID!, $v: Int!, $t: String!) { updateMeasure(id: $id, expectedVersion: $v, patch: { title: $t }) { version } }',
    { id: m.id, v: m.version, t: title });
  await page.locator(`#measures button[data-measure="${m.id}"]`, { hasText: title }).waitFor({ timeout: 10000 });
  await noMissingValues();
  await page.locator('#changes li', { hasText: 'opatření' }).first().waitFor();

  // New beds in Klatovy: the chart's bar grows, in Czech digits (1 500 and more).
  await field('Jednotka').selectOption('BEDS');
  const row = page.locator('#capacity-chart tr[data-service-type="DOMOVY_PRO_SENIORY"][data-region="klatovy"] .value');
  const before = Number((await row.textContent()).replace(/\s/g, ''));
  const { createProvider } = await api(EDITOR, 'mutation { createProvider(input: { region: "klatovy", name: "Domov Živě" }) { id } }');
  await api(EDITOR, 'mutation($p: ID!) { createService(providerId: $p, input: { serviceType: DOMOVY_PRO_SENIORY, capacities: [{ value: 1500, unit: BEDS, form: RESIDENTIAL }] }) { id } }',
    { p: createProvider.id });
  const expected = new Intl.NumberFormat('cs-CZ').format(before + 1500);
  assert.ok(expected.includes(NBSP));
  await page.waitForFunction((expected) =>
    document.querySelector('#capacity-chart tr[data-service-type="DOMOVY_PRO_SENIORY"][data-region="klatovy"] .value')?.textContent === expected,
  expected, { timeout: 10000 });
  assert.equal(await page.evaluate(() => window.notReloaded), true);
});

test('the token lives in sessionStorage only and survives a reload of the tab', async () => {
  assert.equal(await page.evaluate(() => sessionStorage.getItem('kpss.token')), NATIONAL);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.equal(await page.evaluate(() => document.cookie), '');
  await page.reload();
  await page.locator('#measures tbody tr').first().waitFor();
  assert.equal(await page.locator('#sign-in').isHidden(), true);
});

test('a Klatovy token sees Klatovy only', async () => {
  await page.getByRole('button', { name: 'Odhlásit' }).click();
  await page.locator('#sign-in').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await signIn(KLATOVY);
  assert.deepEqual(await attributes('#evaluation-chart tbody[data-region]', 'data-region'), ['klatovy']);
  assert.deepEqual(await attributes('#capacity-chart tr[data-region]', 'data-region'), ['klatovy']);
  assert.equal(await page.locator('#capacity-missing').count(), 0);
  assert.deepEqual(await page.locator('#filter-region option').allTextContents(), ['všechny', 'Klatovy']);
  const { measures } = await api(KLATOVY, '{ measures { totalCount } }');
  await waitForTotal(measures.totalCount);
  assert.deepEqual(await page.locator('#measures tbody td .region-name').evaluateAll((t) => [...new Set(t.map((c) => c.textContent))]), ['Klatovy']);
  await noMissingValues();
  await screenshot(page, 'dashboard-klatovy.png', { fullPage: true });
  assert.deepEqual(await violations(page), []);
});

test('an editor compares a plan file with the stored plan, sees the changes, then applies them', async () => {
  await page.getByRole('button', { name: 'Odhlásit' }).click();
  await page.locator('#sign-in').waitFor();
  await signIn(EDITOR);
  await page.locator('#plan-files').waitFor();
  const { plans } = await api(EDITOR, '{ plans(filter: { regions: ["klatovy"], kinds: [ACTION_PLAN] }) { nodes { id } } }');
  const { planFile } = await api(EDITOR, 'query($id: ID!) { planFile(id: $id, format: YAML) }', { id: plans.nodes[0].id });
  const title = `Priorita upravená v souboru ${Date.now()}`;
  // The first coded record's title (the first priority's), as the seed format writes it.
  const changed = planFile.replace(/(\n(\s+)- code: [^\n]+\n\2  title: )([^\n]+)/, `$1${title}`);
  assert.notEqual(changed, planFile);
  await field('Soubor plánu (XLSX, ODS nebo YAML)').setInputFiles({ name: 'plan.yaml', mimeType: 'application/yaml', buffer: Buffer.from(changed) });
  await page.getByRole('button', { name: 'Porovnat' }).click();
  const table = page.locator('#import-changes');
  await table.waitFor();
  const rows = await table.locator('tbody tr').allTextContents();
  assert.ok(rows.some((r) => r.includes('změna') && r.includes(title)), rows.join('\n'));
  assert.ok((await page.locator('#import-result [role=status]').textContent()).includes('beze změny'));
  await noMissingValues();
  assert.deepEqual(await violations(page, '#plan-files'), []);
  await page.locator('#plan-files').scrollIntoViewIfNeeded();
  await screenshot(page, 'import-diff.png', { clip: await page.locator('#plan-files').boundingBox() });
  await page.getByRole('button', { name: 'Použít změny' }).click();
  await page.locator('#import-result', { hasText: 'Změny použity' }).waitFor();
  const { plan } = await api(EDITOR, 'query($id: ID!) { plan(id: $id) { priorities { title } } }', { id: plans.nodes[0].id });
  assert.equal(plan.priorities[0].title, title, 'the API shows the new title');
});

test('an editor downloads a plan as XLSX and brings a workbook back as a multipart upload', async () => {
  const { plans } = await api(EDITOR, '{ plans(filter: { regions: ["klatovy"], kinds: [ACTION_PLAN] }) { nodes { id } } }');
  await field('Plán ke stažení').selectOption(plans.nodes[0].id);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Stáhnout XLSX' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `plan-${plans.nodes[0].id}.xlsx`);
  const workbook = readFileSync(await download.path());
  assert.equal(workbook.subarray(0, 2).toString(), 'PK', 'a zip, as an XLSX is');
  const template = page.getByRole('link', { name: 'šablony akčního plánu (XLSX)' });
  assert.equal(await template.getAttribute('href'), '/templates/akcni-plan.xlsx');
  const served = await page.evaluate(async () => (await fetch('/templates/akcni-plan.xlsx')).status);
  assert.equal(served, 200);

  const uploads = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/graphql') && (r.headers()['content-type'] ?? '').startsWith('multipart/form-data')) uploads.push(r);
  });
  await field('Soubor plánu (XLSX, ODS nebo YAML)').setInputFiles({
    name: 'plan.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: workbook,
  });
  await page.getByRole('button', { name: 'Porovnat' }).click();
  const status = page.locator('#import-result [role=status]', { hasText: 'beze změny' });
  await status.waitFor();
  assert.match(await status.textContent(), /^0 záznamů se mění, \d+ beze změny\.$/);
  assert.equal(await page.getByRole('button', { name: 'Použít změny' }).count(), 0);
  assert.equal(uploads.length, 1, 'the workbook went as a multipart file');

  await field('Soubor plánu (XLSX, ODS nebo YAML)').setInputFiles({
    name: 'plan.ods', mimeType: 'application/vnd.oasis.opendocument.spreadsheet', buffer: Buffer.from('not a workbook'),
  });
  await page.getByRole('button', { name: 'Porovnat' }).click();
  await page.locator('#import-result', { hasText: 'file: soubor není sešit (XLSX ani ODS)' }).waitFor();
  assert.deepEqual(await violations(page, '#plan-files'), []);
});

test('an editor rolls a plan over into next period\'s plan', async () => {
  const { plans } = await api(EDITOR, '{ plans(filter: { regions: ["klatovy"], kinds: [ACTION_PLAN] }) { nodes { id title priorities { measures { latestEvaluation { status } } } } } }');
  const plan = plans.nodes[0];
  await field('Plán ke stažení').selectOption(plan.id);
  await field('Od roku').fill('2030');
  await field('Do roku').fill('2031');
  await page.getByRole('button', { name: 'Vytvořit plán na další období' }).click();
  const done = page.locator('#roll-over-result', { hasText: 'Vytvořen plán' });
  await done.waitFor();
  const carried = plan.priorities.flatMap((p) => p.measures)
    .filter((m) => m.latestEvaluation?.status !== 'FULFILLED').length;
  assert.ok((await done.textContent()).includes(`${carried} `), await done.textContent());
  const { plans: after } = await api(EDITOR, '{ plans(filter: { regions: ["klatovy"], year: 2030 }) { nodes { periodStart periodEnd } } }');
  assert.deepEqual(after.nodes, [{ periodStart: 2030, periodEnd: 2031 }]);
  assert.deepEqual(await violations(page, '#plan-files'), []);
});

test('no request left the service, and the page logged no errors', async () => {
  assert.ok(browser.requests.some((u) => u.startsWith('ws://')), 'the live socket is in the log');
  assert.ok(browser.requests.length > 20, `requests were logged: ${browser.requests.length}`);
  assert.deepEqual(outside(browser.requests), []);
  // The 401 is the service's answer to the bad token of the first test.
  assert.deepEqual(browser.problems.filter((p) => !p.includes('status of 401')), []);
});
