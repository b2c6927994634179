// The dashboard's two charts as HTML tables with bars: readable by screen
// readers as tables, by eye as bar charts, no charting library.

export const numbers = new Intl.NumberFormat('cs-CZ');
export const byCzech = (a, b) => a.localeCompare(b, 'cs');

const plural = new Intl.PluralRules('cs');
/** "1 služba", "3 služby", "12 služeb". */
export function count(n, forms) {
  return `${numbers.format(n)} ${forms[plural.select(n)] ?? forms.other}`;
}

/** "2020–2023", or "2023" for a plan of one year. */
export const period = (p) => (p.periodStart === p.periodEnd ? `${p.periodStart}` : `${p.periodStart}–${p.periodEnd}`);

export const STATUS = [
  ['FULFILLED', 'splněno'],
  ['PARTIALLY_FULFILLED', 'částečně splněno'],
  ['IN_PROGRESS', 'průběžně plněno'],
  ['NOT_FULFILLED', 'nesplněno'],
  ['UNKNOWN', 'stav neuveden'],
  [null, 'bez hodnocení'],
];
export const statusLabel = (status) => STATUS.find(([s]) => s === (status ?? null))[1];

export const UNITS = {
  BEDS: 'Lůžka',
  CLIENTS_AT_ONCE: 'Klienti v jednom okamžiku',
  INTERVENTIONS_PER_YEAR: 'Intervence za rok',
  CLIENTS_PER_HOUR: 'Klienti za hodinu',
  HOUSING_UNITS: 'Bytové jednotky',
};

/** An element with attributes and children (strings become text). */
export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.flat().filter((c) => c != null && c !== false));
  return node;
}

/** A bar of `value` out of `max`; its width is set through CSSOM (the page's CSP allows no inline style). */
function bar(value, max, className) {
  const node = h('span', { class: `bar ${className}`, 'aria-hidden': 'true' });
  node.style.width = `${max > 0 ? Math.max((100 * value) / max, 0.5) : 0}%`;
  return node;
}

/**
 * Capacity of one unit by service type (rows, in Czech order of their
 * names) and region (a bar each).
 */
export function capacityChart(groups, { unit, typeName, regionOrder }) {
  const ofUnit = groups.filter((g) => g.unit === unit);
  if (ofUnit.length === 0) return h('p', {}, 'Pro tuto jednotku nejsou žádné údaje.');
  const max = Math.max(...ofUnit.map((g) => g.total));
  const types = [...new Set(ofUnit.map((g) => g.serviceType))].sort((a, b) => byCzech(typeName(a), typeName(b)));
  const body = types.flatMap((type) => {
    const rows = ofUnit
      .filter((g) => g.serviceType === type)
      .sort((a, b) => regionOrder.indexOf(a.region.code) - regionOrder.indexOf(b.region.code));
    return rows.map((g, i) =>
      h('tr', { 'data-service-type': type, 'data-region': g.region.code },
        i === 0 && h('th', { scope: 'row', rowspan: rows.length }, typeName(type)),
        h('td', { class: 'region' }, g.region.name),
        h('td', { class: 'bar-cell' },
          h('span', { class: 'bar-track' }, bar(g.total, max, `region-${regionOrder.indexOf(g.region.code) % 6}`)),
          h('span', { class: 'value' }, numbers.format(g.total)),
          h('span', { class: 'services' }, ` (${count(g.services, { one: 'služba', few: 'služby', other: 'služeb' })})`))));
  });
  return h('table', { class: 'bars capacity', 'data-unit': unit },
    h('caption', {}, `${UNITS[unit] ?? unit} podle druhu služby a regionu`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Druh služby'), h('th', { scope: 'col' }, 'Region'),
      h('th', { scope: 'col' }, UNITS[unit] ?? unit))),
    h('tbody', {}, body));
}

export function statusLegend() {
  return STATUS.map(([status, label]) =>
    h('li', {}, h('span', { class: `swatch status-${status ?? 'NONE'}`, 'aria-hidden': 'true' }), label));
}

/**
 * Measures by their latest evaluation's status: a stacked bar per plan,
 * plans grouped by region (regions and plans in Czech order).
 */
export function evaluationChart(groups, { regionOrder }) {
  if (groups.length === 0) return h('p', {}, 'Žádná opatření.');
  const plans = new Map();
  for (const g of groups) {
    const key = g.plan.id;
    if (!plans.has(key)) plans.set(key, { plan: g.plan, region: g.region, counts: new Map(), total: 0 });
    const p = plans.get(key);
    p.counts.set(g.status ?? null, (p.counts.get(g.status ?? null) ?? 0) + g.count);
    p.total += g.count;
  }
  const max = Math.max(...[...plans.values()].map((p) => p.total));
  const regions = [...new Set([...plans.values()].map((p) => p.region.code))]
    .sort((a, b) => regionOrder.indexOf(a) - regionOrder.indexOf(b));
  const bodies = regions.map((code) => {
    const rows = [...plans.values()]
      .filter((p) => p.region.code === code)
      .sort((a, b) => byCzech(a.plan.title, b.plan.title));
    return h('tbody', { 'data-region': code },
      h('tr', {}, h('th', { scope: 'colgroup', colspan: 3, class: 'group' }, rows[0].region.name)),
      rows.map((p) => {
        const stack = h('span', { class: 'stack' });
        stack.style.width = `${(100 * p.total) / max}%`;
        for (const [status, label] of STATUS) {
          const n = p.counts.get(status) ?? 0;
          if (n === 0) continue;
          const segment = h('span', { class: `segment status-${status ?? 'NONE'}`, title: `${label}: ${n}` },
            numbers.format(n), h('span', { class: 'visually-hidden' }, ` ${label}`));
          segment.style.flexGrow = n;
          stack.append(segment);
        }
        return h('tr', { 'data-plan': p.plan.id },
          h('th', { scope: 'row' }, `${p.plan.title} (${period(p.plan)})`),
          h('td', { class: 'bar-cell' }, stack),
          h('td', { class: 'value' }, numbers.format(p.total)));
      }));
  });
  return h('table', { class: 'bars evaluation' },
    h('caption', { class: 'visually-hidden' }, 'Počty opatření podle stavu posledního hodnocení'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Plán'), h('th', { scope: 'col' }, 'Stav opatření'),
      h('th', { scope: 'col' }, 'Celkem'))),
    bodies);
}
