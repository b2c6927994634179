// The kraj dashboard: sign in with a token, then the caller's readable
// regions as charts, a table of measures with a detail view, and live changes.

import { ApiError, download, graphql, subscribe, token, upload } from '/assets/client.js';
import * as provider from '/assets/signin.js';
import {
  STATUS, UNITS, byCzech, capacityChart, count, evaluationChart, h, numbers, period, statusLabel, statusLegend,
} from './charts.js';

// The operations, in one place. Where a newer field of the service goes:
// `searchHits(text, filter: { kinds: [MEASURE], regions })` with highlights
// replaces SEARCH (and its excerpts in the table).
const ME = `query Me {
  me { subject role regions { code name kraj { code name } } }
  serviceTypes { code name paragraph }
}`;
const CAPACITY = `query Capacity {
  capacitySummary(groupBy: [REGION, SERVICE_TYPE]) { region { code name } serviceType unit total services }
}`;
const EVALUATION = `query Evaluation {
  evaluationSummary(groupBy: [REGION, PLAN, STATUS]) {
    region { code name } plan { id title periodStart periodEnd } status count
  }
}`;
const PLANS = `query Plans($regions: [String!]) {
  plans(filter: { regions: $regions }, first: 100) {
    nodes { id title periodStart periodEnd region { code name } }
  }
}`;
const MEASURES = `query Measures($filter: MeasureFilter, $first: Int, $after: String) {
  measures(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id code title targetGroups plan { id title region { code name } } latestEvaluation { year status } }
  }
}`;
const SEARCH = `query Search($text: String!, $regions: [String!]) {
  search(text: $text, regions: $regions, first: 50) { kind id snippet }
}`;
const MEASURE = `query Measure($id: ID!) {
  measure(id: $id) {
    id code title alternativeTitle rationale description targetGroups term responsible output
    expectedCost { amountCzk per text } fundingSources risks reading
    plan { id title periodStart periodEnd sourceDocument reading region { name } }
    sources { document firstLine lastLine excerpt }
    priority { code title }
    evaluations { year status comment reading }
    activities { code title description responsible schedule subActivities { code title } }
    subMeasures { id code title }
  }
}`;
const PLAN_FILE = `query PlanFile($id: ID!, $format: PlanFileFormat!) { planFile(id: $id, format: $format) }`;
const IMPORT = `mutation ImportPlan($region: String!, $format: PlanFileFormat!, $content: String, $file: Upload,
    $dryRun: Boolean!, $version: Int, $archive: Boolean!) {
  importPlan(region: $region, format: $format, content: $content, file: $file, dryRun: $dryRun,
      expectedVersion: $version, archiveMissing: $archive) {
    applied version plan { id title } changes { kind code action fields { name old new } }
  }
}`;
const ROLL_OVER = `mutation RollOver($id: ID!, $start: Int!, $end: Int!) {
  rollOverPlan(id: $id, periodStart: $start, periodEnd: $end) {
    id title periodStart periodEnd priorities { measures { id } }
  }
}`;
const CHANGES = `subscription Changes {
  changes { region { code name } planId entity entityId action actor at }
}`;

const PAGE = 20;
const ROLES = { VIEWER: 'čtenář', EDITOR: 'editor', ADMIN: 'správce' };
const ENTITIES = {
  Plan: 'plán', Priority: 'priorita', Measure: 'opatření', Activity: 'aktivita',
  Evaluation: 'hodnocení', Provider: 'poskytovatel', Service: 'služba',
};
const ACTIONS = { CREATED: 'nový záznam', UPDATED: 'změna', ARCHIVED: 'archivace', RESTORED: 'obnovení' };
const IMPORT_ACTIONS = { CREATED: 'nový záznam', CHANGED: 'změna', UNCHANGED: 'beze změny', ARCHIVED: 'archivace' };
const time = new Intl.DateTimeFormat('cs-CZ', { timeStyle: 'medium' });
const czk = new Intl.NumberFormat('cs-CZ', { style: 'currency', currency: 'CZK', maximumFractionDigits: 0 });

/** "10 000 Kč / setkání", and the plan's own words when they say more. */
// Where the plan says it: the document and its lines, with the excerpt that
// states the measure (each range, where its values come from several places);
// a measure created through the API has none.
function source(m) {
  if (!m.sources.length) return m.plan.sourceDocument && `dokument ${m.plan.sourceDocument}`;
  return list(m.sources.map((s) => {
    const lines = s.firstLine === s.lastLine ? `řádek ${s.firstLine}` : `řádky ${s.firstLine}–${s.lastLine}`;
    return `${s.document}, ${lines}: „${s.excerpt}“`;
  }));
}

// How the data was read where the document's layout left room for doubt.
function readings(m) {
  const all = [m.reading, m.plan.reading && `Plán: ${m.plan.reading}`].filter(Boolean);
  return all.length ? list(all) : null;
}

function cost({ amountCzk, per, text }) {
  if (amountCzk == null) return text;
  const amount = `${czk.format(amountCzk)}${per ? ` / ${per}` : ''}`;
  const same = (a) => a.replace(/\s+/g, ' ').trim();
  return same(amount) === same(text) ? amount : `${amount} (v plánu: ${text})`;
}

const $ = (id) => document.getElementById(id);
const state = {
  regions: [], // readable regions, in Czech order of their names
  typeNames: new Map(),
  capacity: [],
  measures: [],
  plans: [], // the plans the plan filter offers
  after: null,
  request: 0, // the latest measures request: older answers are dropped
  openMeasure: null,
  opener: null, // the element that opened the detail, focused again when it closes
  stopLive: null,
};
const regionOrder = () => state.regions.map((r) => r.code);
const typeName = (code) => state.typeNames.get(code) ?? code;

/** Runs a load; a rejected token signs out, any other error is shown. */
async function guarded(load, place) {
  try {
    await load();
  } catch (e) {
    if (e instanceof ApiError && e.code === 'UNAUTHENTICATED') {
      signOut('Token už neplatí. Přihlaste se znovu.');
    } else {
      place.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Chyba: ${e.message}`));
    }
  }
}

// --- sign in and out -------------------------------------------------------

async function signIn() {
  let data;
  try {
    data = await graphql(ME);
  } catch (e) {
    token.clear();
    const text = e instanceof ApiError && e.code === 'UNAUTHENTICATED'
      ? `Token není platný (chybný, prošlý nebo jinak podepsaný): ${e.message}`
      : `Přihlášení se nezdařilo: ${e.message}`;
    $(provider.signedIn() ? 'provider-error' : 'sign-in-error').textContent = text;
    return;
  }
  $('sign-in-error').textContent = '';
  $('provider-error').textContent = '';
  $('token').value = '';
  state.regions = [...data.me.regions].sort((a, b) => byCzech(a.name, b.name));
  state.typeNames = new Map(data.serviceTypes.map((t) => [t.code, t.name]));
  const regionNames = state.regions.map((r) => r.name).join(', ') || 'žádné';
  $('who-text').textContent =
    `${data.me.subject} (${ROLES[data.me.role] ?? data.me.role}) · regiony: ${regionNames}`;
  $('who').hidden = false;
  $('sign-in').hidden = true;
  $('dashboard').hidden = false;
  fillFilters();
  $('plan-files').hidden = data.me.role === 'VIEWER';
  $('import-region').replaceChildren(...state.regions.map((r) => h('option', { value: r.code }, r.name)));
  $('import-result').replaceChildren();
  await Promise.all([loadCapacity(), loadEvaluation(), loadPlans(), loadMeasures()]);
  startLive();
  $('main').focus();
}

function signOut(message = '') {
  state.stopLive?.();
  state.stopLive = null;
  token.clear();
  $('measure-detail').open && $('measure-detail').close();
  // Nothing of the previous caller's data stays on the page.
  for (const id of ['capacity-chart', 'evaluation-chart', 'changes', 'who-text', 'measure-count', 'live-state',
    'import-result', 'file-plan', 'roll-over-result']) {
    $(id).replaceChildren();
  }
  $('measures').tBodies[0].replaceChildren();
  // Field by field: the form's reset event would load measures again.
  for (const field of $('measure-filters').elements) if (field.name) field.value = '';
  state.measures = [];
  $('dashboard').hidden = true;
  $('who').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = message;
  (provider.signedIn() ? $('provider-button') : $('token')).focus();
}

// --- a plan as a file -------------------------------------------------------

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The chosen plan as YAML text or as a workbook (XLSX, base64 in the answer). */
async function downloadPlan(format) {
  const select = $('file-plan');
  await guarded(async () => {
    const file = (await graphql(PLAN_FILE, { id: select.value, format })).planFile;
    const blob = format === 'XLSX'
      ? new Blob([Uint8Array.from(atob(file), (c) => c.charCodeAt(0))], { type: XLSX_TYPE })
      : new Blob([file], { type: 'application/yaml' });
    const link = h('a', {
      href: URL.createObjectURL(blob),
      download: `plan-${select.value}.${format.toLowerCase()}`,
    });
    link.click();
    URL.revokeObjectURL(link.href);
  }, $('import-result'));
}

const shown = (v) => (v == null ? '—' : v);

/** The changes an import lists, the unchanged records counted only. */
function changesTable(changes) {
  const listed = changes.filter((c) => c.action !== 'UNCHANGED');
  const same = changes.length - listed.length;
  const summary = h('p', { role: 'status' },
    `${count(listed.length, { one: 'záznam se mění', few: 'záznamy se mění', other: 'záznamů se mění' })}, `
    + `${same} beze změny.`);
  if (!listed.length) return [summary];
  return [summary, h('div', { class: 'table-wrap' }, h('table', { id: 'import-changes' },
    h('caption', { class: 'visually-hidden' }, 'Změny ze souboru'),
    h('thead', {}, h('tr', {}, ['Záznam', 'Kód', 'Změna', 'Pole', 'Dosud', 'Nově']
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, listed.flatMap((c) => {
      const head = [h('td', {}, ENTITIES[c.kind] ?? c.kind), h('td', {}, shown(c.code)),
        h('td', {}, IMPORT_ACTIONS[c.action])];
      if (!c.fields.length) return [h('tr', {}, ...head, h('td', { colspan: 3 }, ''))];
      return c.fields.map((f, i) => h('tr', {}, ...(i ? head.map(() => h('td', {}, '')) : head),
        h('td', {}, f.name), h('td', {}, shown(f.old)), h('td', {}, shown(f.new))));
    }))))];
}

/** Compares the chosen file with the stored plan; Apply makes the listed changes. */
async function compareFile(event) {
  event.preventDefault();
  const place = $('import-result');
  const file = $('import-file').files[0];
  if (!file) return;
  // YAML goes as text; a workbook as a file of a multipart request.
  const format = /\.ods$/i.test(file.name) ? 'ODS' : /\.xlsx$/i.test(file.name) ? 'XLSX' : 'YAML';
  const variables = {
    region: $('import-region').value, format, archive: $('import-archive').checked,
    ...(format === 'YAML' ? { content: await file.text() } : {}),
  };
  const run = async (more) => (format === 'YAML'
    ? graphql(IMPORT, { ...variables, ...more })
    : upload(IMPORT, { ...variables, ...more }, file)).then((d) => d.importPlan);
  try {
    const dry = await run({ dryRun: true });
    const apply = h('button', { type: 'button', id: 'import-apply' }, 'Použít změny');
    apply.addEventListener('click', async () => {
      apply.disabled = true;
      try {
        const done = await run({ dryRun: false, version: dry.version });
        place.replaceChildren(h('p', { role: 'status', class: 'done' },
          `Změny použity v plánu ${done.plan.title}.`));
        await Promise.all([loadEvaluation(), loadPlans(), loadMeasures()]);
      } catch (e) {
        place.append(importError(e));
      }
    });
    const changed = dry.changes.some((c) => c.action !== 'UNCHANGED');
    place.replaceChildren(
      h('h3', {}, dry.plan ? `Plán ${dry.plan.title}` : 'Nový plán'),
      ...changesTable(dry.changes),
      ...(changed ? [apply] : []));
  } catch (e) {
    place.replaceChildren(importError(e));
  }
}

/** Next period's action plan from the chosen plan: its measures not yet fulfilled. */
async function rollOver(event) {
  event.preventDefault();
  const place = $('roll-over-result');
  const variables = { id: $('file-plan').value, start: Number($('roll-start').value), end: Number($('roll-end').value) };
  try {
    const plan = (await graphql(ROLL_OVER, variables)).rollOverPlan;
    const carried = plan.priorities.reduce((n, p) => n + p.measures.length, 0);
    place.replaceChildren(h('p', { role: 'status', class: 'done' },
      `Vytvořen plán ${plan.title} (${period(plan)}): ${count(carried, {
        one: 'převzaté opatření', few: 'převzatá opatření', other: 'převzatých opatření' })}.`));
    await Promise.all([loadEvaluation(), loadPlans()]);
  } catch (e) {
    place.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Plán nelze vytvořit: ${e.message}`));
  }
}

function importError(e) {
  if (e.code === 'CONFLICT') {
    return h('p', { class: 'error', role: 'alert' }, 'Plán mezitím změnil někdo jiný. Porovnejte soubor znovu.');
  }
  const problems = e.extensions?.problems ?? [];
  return h('div', { class: 'error', role: 'alert' }, h('p', {}, `Soubor nelze použít: ${e.message}`),
    problems.length ? list(problems.map((p) => `${p.location}: ${p.message}`)) : null);
}

// --- charts ------------------------------------------------------------------

async function loadCapacity() {
  await guarded(async () => {
    state.capacity = (await graphql(CAPACITY)).capacitySummary;
    const units = Object.keys(UNITS).filter((u) => state.capacity.some((g) => g.unit === u));
    const select = $('capacity-unit');
    const chosen = units.includes(select.value) ? select.value : units[0];
    select.replaceChildren(...units.map((u) => h('option', { value: u }, UNITS[u])));
    if (chosen) select.value = chosen;
    drawCapacity();
  }, $('capacity-chart'));
}

function drawCapacity() {
  const without = state.regions.filter((r) => !state.capacity.some((g) => g.region.code === r.code));
  $('capacity-chart').replaceChildren(
    capacityChart(state.capacity, { unit: $('capacity-unit').value, typeName, regionOrder: regionOrder() }));
  if (without.length) {
    $('capacity-chart').append(h('p', { class: 'hint', id: 'capacity-missing' },
      `Bez údajů o kapacitě služeb: ${without.map((r) => r.name).join(', ')}.`));
  }
}

/**
 * The summary counts evaluated measures only: each plan's other measures
 * (its measure count less the evaluated ones) are shown as "bez hodnocení".
 */
async function loadEvaluation() {
  await guarded(async () => {
    const [summary, plans] = await Promise.all([graphql(EVALUATION), graphql(PLANS, { regions: null })]);
    const groups = summary.evaluationSummary;
    const totals = await measureCounts(plans.plans.nodes.map((p) => p.id));
    for (const plan of plans.plans.nodes) {
      const evaluated = groups.filter((g) => g.plan.id === plan.id).reduce((n, g) => n + g.count, 0);
      const rest = (totals.get(plan.id) ?? 0) - evaluated;
      if (rest > 0) groups.push({ region: plan.region, plan, status: null, count: rest });
    }
    $('evaluation-chart').replaceChildren(evaluationChart(groups, { regionOrder: regionOrder() }));
  }, $('evaluation-chart'));
}

/** Measures per plan id: one request of aliased counts per 25 plans (under the alias limit). */
async function measureCounts(planIds) {
  const counts = new Map();
  for (let i = 0; i < planIds.length; i += 25) {
    const chunk = planIds.slice(i, i + 25);
    const fields = chunk.map((_, j) => `p${j}: measures(filter: { planId: $p${j} }, first: 1) { totalCount }`);
    const query = `query MeasureCounts(${chunk.map((_, j) => `$p${j}: ID!`).join(', ')}) { ${fields.join(' ')} }`;
    const data = await graphql(query, Object.fromEntries(chunk.map((id, j) => [`p${j}`, id])));
    chunk.forEach((id, j) => counts.set(id, data[`p${j}`].totalCount));
  }
  return counts;
}

// --- measures ------------------------------------------------------------------

function fillFilters() {
  $('filter-region').replaceChildren(h('option', { value: '' }, 'všechny'),
    ...state.regions.map((r) => h('option', { value: r.code }, r.name)));
  $('filter-status').replaceChildren(h('option', { value: '' }, 'všechny'),
    ...STATUS.filter(([s]) => s).map(([s, label]) => h('option', { value: s }, label)));
  $('evaluation-legend').replaceChildren(...statusLegend());
}

async function loadPlans() {
  await guarded(async () => {
    const region = $('filter-region').value;
    const { nodes } = (await graphql(PLANS, { regions: region ? [region] : null })).plans;
    const chosen = $('filter-plan').value;
    const plans = [...nodes].sort((a, b) =>
      byCzech(a.region.name, b.region.name) || byCzech(a.title, b.title));
    $('filter-plan').replaceChildren(h('option', { value: '' }, 'všechny'),
      ...plans.map((p) => h('option', { value: p.id },
        `${region ? '' : `${p.region.name}: `}${p.title} (${period(p)})`)));
    if (!region) {
      $('file-plan').replaceChildren(...plans.map((p) => h('option', { value: p.id },
        `${p.region.name}: ${p.title} (${period(p)})`)));
    }
    if (plans.some((p) => p.id === chosen)) $('filter-plan').value = chosen;
    state.plans = plans;
    showDocuments();
  }, $('measure-count'));
}

/** The chosen plan's documents: the plan, and the evaluation of a year of its period. */
function showDocuments() {
  const plan = state.plans?.find((p) => p.id === $('filter-plan').value);
  $('plan-documents').hidden = !plan;
  if (!plan) return;
  $('plan-documents-title').textContent = `Dokumenty plánu ${plan.title} (${period(plan)}):`;
  const years = [];
  for (let y = plan.periodEnd; y >= plan.periodStart; y -= 1) years.push(y);
  $('evaluation-year').replaceChildren(...years.map((y) => h('option', { value: String(y) }, String(y))));
}

async function downloadDocument(button) {
  const plan = $('filter-plan').value;
  const { format } = button.dataset;
  const year = 'evaluation' in button.dataset ? $('evaluation-year').value : null;
  const query = year ? `?evaluation=${encodeURIComponent(year)}` : '';
  $('documents-state').textContent = 'Připravuji dokument…';
  try {
    await download(`/documents/plans/${encodeURIComponent(plan)}.${format}${query}`, `plan-${plan}.${format}`);
    $('documents-state').textContent = '';
  } catch (e) {
    if (e instanceof ApiError && e.code === 'UNAUTHENTICATED') signOut('Token už neplatí. Přihlaste se znovu.');
    else $('documents-state').textContent = `Chyba: ${e.message}`;
  }
}

function currentFilter() {
  const value = (id) => $(id).value.trim() || null;
  const region = value('filter-region');
  return {
    regions: region ? [region] : null,
    planId: value('filter-plan'),
    status: value('filter-status'),
    targetGroup: value('filter-target'),
    text: value('filter-text'),
  };
}

/** The first page again (or as many rows as are shown, after a change), or the next page. */
async function loadMeasures({ more = false, keep = false } = {}) {
  const request = ++state.request;
  await guarded(async () => {
    const filter = currentFilter();
    const first = keep ? Math.min(Math.max(state.measures.length, PAGE), 100) : PAGE;
    const [data, snippets] = await Promise.all([
      graphql(MEASURES, { filter, first, after: more ? state.after : null }),
      more || !filter.text ? null : searchSnippets(filter),
    ]);
    if (request !== state.request) return;
    const page = data.measures;
    state.measures = more ? [...state.measures, ...page.nodes] : page.nodes;
    state.after = page.pageInfo.endCursor;
    if (snippets) state.snippets = snippets;
    else if (!more) state.snippets = new Map();
    $('measure-count').textContent = page.totalCount === 0
      ? 'Filtru neodpovídá žádné opatření.'
      : `Zobrazeno ${numbers.format(state.measures.length)} z ${count(page.totalCount, { one: 'opatření', few: 'opatření', other: 'opatření' })}.`;
    $('measures-more').hidden = !page.pageInfo.hasNextPage;
    drawMeasures();
  }, $('measure-count'));
}

/** Excerpts around the search text, by measure id (today's `search`). */
async function searchSnippets(filter) {
  const hits = (await graphql(SEARCH, { text: filter.text, regions: filter.regions })).search;
  return new Map(hits.filter((hit) => hit.kind === 'MEASURE').map((hit) => [hit.id, hit.snippet]));
}

function statusBadge(evaluation) {
  const status = evaluation?.status ?? null;
  return h('span', { class: `badge status-${status ?? 'NONE'}` },
    statusLabel(status), evaluation ? ` (${evaluation.year})` : '');
}

function drawMeasures() {
  $('measures').tBodies[0].replaceChildren(...state.measures.map((m) =>
    h('tr', { 'data-id': m.id },
      h('td', {}, h('span', { class: 'region-name' }, m.plan.region.name), h('span', { class: 'plan-title' }, m.plan.title)),
      h('td', { class: 'code' }, m.code),
      h('td', {},
        h('button', { type: 'button', class: 'link', 'data-measure': m.id, onclick: () => openMeasure(m.id) }, m.title),
        state.snippets?.get(m.id) && h('p', { class: 'snippet' }, state.snippets.get(m.id))),
      h('td', {}, m.targetGroups.join(', ')),
      h('td', {}, statusBadge(m.latestEvaluation)))));
}

// --- one measure ---------------------------------------------------------------

const list = (items) => (items.length ? h('ul', {}, items.map((i) => h('li', {}, i))) : h('p', {}, '—'));

function facts(pairs) {
  return h('dl', { class: 'facts' },
    pairs.filter(([, v]) => v != null && v !== '' && !(Array.isArray(v) && v.length === 0))
      .flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, Array.isArray(v) ? v.join(', ') : v)]));
}

function activity(a) {
  return h('li', {},
    h('strong', {}, `${a.code} `), a.title,
    (a.responsible?.length || a.schedule) &&
      h('span', { class: 'hint' }, ` — ${[a.responsible?.join(', '), a.schedule].filter(Boolean).join('; ')}`),
    a.subActivities?.length ? h('ul', {}, a.subActivities.map(activity)) : null);
}

async function openMeasure(id) {
  const dialog = $('measure-detail');
  if (!dialog.open) state.opener = document.activeElement;
  state.openMeasure = id;
  await guarded(async () => {
    const m = (await graphql(MEASURE, { id })).measure;
    if (!m) {
      $('detail-title').textContent = 'Opatření není dostupné';
      $('detail-body').replaceChildren();
    } else {
      $('detail-title').textContent = `${m.code} ${m.title}`;
      $('detail-body').replaceChildren(...[
        facts([
          ['Region', m.plan.region.name],
          ['Plán', `${m.plan.title} (${period(m.plan)})`],
          ['Priorita', `${m.priority.code} ${m.priority.title}`],
          ['Název v přehledu', m.alternativeTitle],
          ['Cílové skupiny', m.targetGroups],
          ['Termín', m.term],
          ['Odpovědnost', m.responsible],
          ['Výstup', m.output],
          ['Předpokládané náklady', m.expectedCost && cost(m.expectedCost)],
          ['Zdroje financování', m.fundingSources],
          ['Zdroj', source(m)],
          ['Čtení dokumentu', readings(m)],
        ]),
        m.description && h('section', {}, h('h3', {}, 'Popis'), h('p', {}, m.description)),
        m.rationale && h('section', {}, h('h3', {}, 'Odůvodnění'), h('p', {}, m.rationale)),
        h('section', {}, h('h3', {}, 'Hodnocení'),
          m.evaluations.length
            ? h('table', { class: 'evaluations' },
              h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Rok'), h('th', { scope: 'col' }, 'Stav'),
                h('th', { scope: 'col' }, 'Komentář'))),
              h('tbody', {}, m.evaluations.map((e) => h('tr', {},
                h('td', {}, String(e.year)), h('td', {}, statusBadge(e)), h('td', {}, e.comment ?? '',
                  e.reading ? h('p', { class: 'reading' }, `Čtení dokumentu: ${e.reading}`) : null)))))
            : h('p', {}, 'Zatím bez hodnocení.')),
        h('section', {}, h('h3', {}, 'Aktivity'),
          m.activities.length ? h('ul', { class: 'activities' }, m.activities.map(activity)) : h('p', {}, '—')),
        m.subMeasures.length ? h('section', {}, h('h3', {}, 'Dílčí opatření'),
          list(m.subMeasures.map((s) => h('button', { type: 'button', class: 'link', onclick: () => openMeasure(s.id) },
            `${s.code} ${s.title}`)))) : null,
        m.risks.length ? h('section', {}, h('h3', {}, 'Rizika'), list(m.risks)) : null,
      ].filter(Boolean));
    }
    if (!dialog.open) dialog.showModal();
  }, $('detail-body'));
}

// --- live changes --------------------------------------------------------------

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    loadCapacity();
    loadEvaluation();
    loadPlans();
    loadMeasures({ keep: true });
    if ($('measure-detail').open && state.openMeasure) openMeasure(state.openMeasure);
  }, 200);
}

const LIVE = {
  connecting: 'Připojování k živým změnám…',
  open: 'Živé změny jsou připojeny: stránka se obnovuje sama.',
  closed: 'Spojení přerušeno, připojuji znovu…',
  unauthorized: 'Token už neplatí. Přihlaste se znovu.',
};

function startLive() {
  let lost = false;
  state.stopLive?.();
  state.stopLive = subscribe(CHANGES, {}, {
    onNext: ({ changes: c }) => {
      const at = new Date(c.at);
      $('changes').prepend(h('li', {},
        h('time', { datetime: c.at }, time.format(at)), ' · ', c.region.name, ' · ',
        `${ENTITIES[c.entity] ?? c.entity} ${c.entityId}: ${ACTIONS[c.action] ?? c.action} (${c.actor})`));
      while ($('changes').children.length > 20) $('changes').lastChild.remove();
      refreshSoon();
    },
    onState: (s) => {
      $('live-state').textContent = LIVE[s];
      if (s === 'unauthorized') signOut(LIVE[s]);
      // Back after a lost connection: catch up on what happened meanwhile.
      if (s === 'open' && lost) refreshSoon();
      lost = s === 'closed' || lost && s === 'connecting';
    },
  });
}

// --- wiring ----------------------------------------------------------------------

let typing = null;
const filters = $('measure-filters');
filters.addEventListener('submit', (e) => {
  e.preventDefault();
  loadMeasures();
});
filters.addEventListener('reset', () => setTimeout(async () => {
  await loadPlans();
  loadMeasures();
}));
$('filter-region').addEventListener('change', async () => {
  await loadPlans();
  loadMeasures();
});
for (const id of ['filter-plan', 'filter-status']) $(id).addEventListener('change', () => loadMeasures());
$('filter-plan').addEventListener('change', showDocuments);
for (const button of $('plan-documents').querySelectorAll('button')) {
  button.addEventListener('click', () => downloadDocument(button));
}
for (const id of ['filter-target', 'filter-text']) {
  $(id).addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => loadMeasures(), 300);
  });
}
$('measures-more').addEventListener('click', () => loadMeasures({ more: true }));
$('capacity-unit').addEventListener('change', drawCapacity);
$('file-download').addEventListener('click', () => downloadPlan('YAML'));
$('file-download-xlsx').addEventListener('click', () => downloadPlan('XLSX'));
$('import-form').addEventListener('submit', compareFile);
$('roll-over-form').addEventListener('submit', rollOver);
$('detail-close').addEventListener('click', () => $('measure-detail').close());
$('measure-detail').addEventListener('close', () => {
  state.openMeasure = null;
  // Back to where the user was (the table may have been redrawn meanwhile).
  const opener = state.opener?.isConnected ? state.opener
    : document.querySelector(`#measures button[data-measure="${state.opener?.dataset.measure}"]`);
  opener?.focus();
});
$('sign-out').addEventListener('click', () => {
  signOut();
  // With a provider's session: its end-session page, then back here.
  provider.signOut();
});
$('sign-in-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token.set($('token').value);
  signIn();
});

// How to sign in: with the provider (when configured), a pasted token (outside production).
const settings = await provider.config();
$('sign-in-form').hidden = !settings.pasteToken;
if (provider.configured(settings)) {
  $('sign-in-form').querySelector('button[type=submit]').textContent = 'Přihlásit tokenem';
  $('provider-sign-in').hidden = false;
  const failed = (e) => { $('provider-error').textContent = provider.message(e); };
  $('provider-button').addEventListener('click', () => provider.signIn().catch(failed));
  provider.onSessionLost((message) => signOut(message));
  await provider.completeSignIn().catch(failed);
}
if (token.get()) signIn();
