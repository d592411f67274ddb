// segments.js -- the segment builder: the condition checked and its
// audience counted as it is typed (the server's column evaluator over the
// live profiles), a mistake shown where it is; saving it as a segment; the
// stored segments with their sizes now.
import { get, post } from '../api.js';
import { t, fmt, label } from '../i18n.js';
import { h, title, section, table, notice, errorNotice, data, chart } from '../ui.js';

const EXAMPLES = ['monetary_90d > 500 and orders >= 3', 'days_since_active > 30 and orders > 0',
  'carts >= 1 and cart_abandon_rate > 0.5', 'affinity("electronics") > 0.3'];

function builder(onSaved) {
  const expr = h('textarea', { id: 'seg-expr', rows: 3, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'seg-count' });
  const count = h('div', { id: 'seg-count', class: 'count', 'aria-live': 'polite' });
  const name = h('input', { id: 'seg-name', type: 'text', spellcheck: 'false', autocomplete: 'off', pattern: '[A-Za-z0-9_.:\\-]+' });
  const out = h('div', { 'aria-live': 'polite' });
  let seq = 0, timer = null;
  async function check() {
    const my = ++seq;
    const text = expr.value.trim();
    if (!text) { count.replaceChildren(); return; }
    count.replaceChildren(h('span', { class: 'muted', text: t('segments.counting') }));
    try {
      const r = await post('/v1/segments/size', { expression: text });
      if (my !== seq) return; // a later keystroke's answer wins
      if (r.valid) {
        count.dataset.size = r.size;
        count.replaceChildren(h('strong', { id: 'seg-size', text: fmt.num(r.size) }), ' ',
          t('segments.of_users', { users: fmt.num(r.users), share: fmt.pct(r.users ? r.size / r.users : 0) }));
      } else {
        delete count.dataset.size;
        const at = r.position;
        count.replaceChildren(notice('error', t('segments.bad_at', { pos: at + 1 })),
          h('pre', { class: 'caret', translate: 'no' }, text, '\n', ' '.repeat(Math.max(0, at)), '^'), h('p', { class: 'muted', translate: 'no', text: r.problem }));
      }
    } catch (e) { if (my === seq) count.replaceChildren(errorNotice(e)); }
  }
  expr.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(check, 250); });
  const form = h('form', { class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    try {
      const r = await post('/v1/segments', { name: name.value.trim(), expression: expr.value.trim() });
      out.replaceChildren(notice('ok', t('segments.saved', { name: r.name, size: fmt.num(r.size) })));
      onSaved();
    } catch (e) { out.replaceChildren(errorNotice(e)); }
  } },
  h('h2', { text: t('segments.builder') }),
  h('label', { for: 'seg-expr', text: t('segments.expression') }), expr,
  h('p', { class: 'muted' }, t('segments.examples'), ' ', EXAMPLES.map((x, i) => [i ? ' · ' : '',
    h('button', { type: 'button', class: 'link', onclick: () => { expr.value = x; check(); } }, h('code', { translate: 'no', text: x }))])),
  count,
  h('div', { class: 'row' }, h('label', { for: 'seg-name', text: t('segments.name') }), name,
    h('button', { type: 'submit', id: 'seg-save', text: t('segments.save') })), out);
  return form;
}

// A stored segment's size week by week, from the profiles of each time.
function history(names) {
  const pick = h('select', { id: 'h-seg' }, names.map((n) => h('option', { value: n, text: n })));
  const out = h('div', { 'aria-live': 'polite' });
  const go = async () => {
    out.replaceChildren(h('p', { class: 'loading', text: t('common.working') }));
    try {
      const d = await get(`/v1/segments/${encodeURIComponent(pick.value)}/history?points=6&every=7`);
      out.replaceChildren(chart({
        xAxis: { type: 'category', data: d.points.map((x) => fmt.date(x.at)) },
        yAxis: { type: 'value', name: t('segments.size') },
        series: [{ type: 'line', name: t('segments.size'), data: d.points.map((x) => x.size) }],
      }, 'segments.history'), h('p', { class: 'muted', id: 'h-sizes', text: d.points.map((x) => fmt.num(x.size)).join(' → ') }));
    } catch (e) { out.replaceChildren(errorNotice(e)); }
  };
  if (!names.length) return null;
  return h('div', null, h('h3', { text: t('segments.history') }), h('div', { class: 'row' },
    h('label', { for: 'h-seg', text: t('segments.name') }), pick,
    h('button', { type: 'button', id: 'h-go', onclick: go }, t('segments.show_history'))), out);
}

async function list(box) {
  const d = await get('/v1/segments');
  const rows = d.segments.map((s) => ({ ...s, size: h('span', { class: 'muted', text: '…' }) }));
  box.replaceChildren(table([
    { key: 'segments.name', get: (s) => s.name, data: true },
    { key: 'segments.expression', get: (s) => h('code', { text: s.expression }), data: true },
    { key: 'segments.size', get: (s) => s.size, num: true },
  ], rows), history(d.segments.map((x) => x.name)));
  for (const s of rows) {
    get(`/v1/segments/${encodeURIComponent(s.name)}`).then((r) => { s.size.textContent = fmt.num(r.size); s.size.className = ''; },
      () => { s.size.textContent = '–'; });
  }
}

// ---- RFM, clusters, overlaps ---------------------------------------------------------

function rfm(r) {
  if (!r) return notice('warn', t('segments.no_rfm'));
  const cells = []; // rows R5 (the most recent buyers) down to R1
  r.grid.forEach((row, i) => row.forEach((v, k) => cells.push([k, i, v])));
  const max = Math.max(1, ...cells.map((c) => c[2]));
  return h('div', { class: 'two' },
    chart({
      tooltip: { formatter: (p) => t('segments.rfm_cell', { r: 5 - p.value[1], fm: p.value[0] + 1, n: fmt.num(p.value[2]) }) },
      grid: { left: 64, right: 24, top: 24, bottom: 72 },
      xAxis: { type: 'category', name: t('segments.fm'), nameLocation: 'middle', nameGap: 28, data: ['1', '2', '3', '4', '5'] },
      yAxis: { type: 'category', name: t('segments.recency'), nameLocation: 'middle', nameGap: 36, inverse: true, data: ['5', '4', '3', '2', '1'] },
      visualMap: { min: 0, max, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, inRange: { color: ['#eef3f8', '#1f4e79'] } },
      series: [{ type: 'heatmap', data: cells, label: { show: true } }],
    }, 'segments.rfm_grid'),
    table([
      { key: 'segments.rfm_segment', get: (x) => label('rfm', x.code) },
      { key: 'segments.users', get: (x) => fmt.num(x.size), num: true },
      { key: 'segments.recency_days', get: (x) => fmt.num(x.recency_days, 1), num: true },
      { key: 'segments.orders', get: (x) => fmt.num(x.orders, 1), num: true },
      { key: 'segments.monetary', get: (x) => fmt.money(x.monetary), num: true },
    ], r.segments.filter((x) => x.size > 0)));
}

// A cluster in words: what sets it apart, the farthest first.
function traits(c) {
  const words = c.traits.filter((x) => Math.abs(x.z) >= 0.5).map((x) => t(
    x.z >= 1 ? 'segments.much_higher' : x.z > 0 ? 'segments.higher' : x.z <= -1 ? 'segments.much_lower' : 'segments.lower',
    { feature: label('feature', x.feature), value: fmt.num(x.mean, 1), avg: fmt.num(x.overall, 1) }));
  return words.length ? words.join(t('segments.and')) : t('segments.average');
}

function clusters(c) {
  if (!c) return notice('warn', t('segments.no_clusters'));
  return [h('p', { class: 'muted', text: t('segments.clusters_of', { users: fmt.num(c.users), features: c.features.map((f) => label('feature', f)).join(', '), silhouette: fmt.fixed(c.silhouette, 2), at: fmt.time(c.as_of) }) }),
    table([
      { key: 'segments.cluster', get: (x) => fmt.num(x.i + 1) },
      { key: 'segments.users', get: (x) => fmt.num(x.size), num: true },
      { key: 'segments.description', get: (x) => traits(x) },
    ], c.clusters.map((x, i) => ({ ...x, i })))];
}

function overlaps(o) {
  if (o.segments.length < 2) return h('p', { class: 'muted', text: t('segments.no_overlaps') });
  const cols = [{ key: 'segments.name', get: (r) => data(r.name) }].concat(o.segments.map((n, k) => ({
    key: n, get: (r) => (r.i === k ? fmt.num(o.sizes[k]) : fmt.pct(o.sizes[r.i] ? o.pairs[r.i][k] / o.sizes[r.i] : 0, 0)), num: true, raw: true })));
  return [h('p', { class: 'muted', text: t('segments.overlap_note') }), table(cols, o.segments.map((name, i) => ({ name, i })))];
}

export default {
  roles: ['admin', 'analyst'],
  async render() {
    const box = h('div');
    const reload = () => list(box).catch((e) => box.replaceChildren(errorNotice(e)));
    const [ins] = await Promise.all([get('/v1/insights/segments'), reload()]);
    return [title('segments.title'), builder(reload), section('segments.stored', box),
      section('segments.overlaps', overlaps(ins.overlaps)), section('segments.rfm', rfm(ins.rfm)),
      section('segments.clusters', clusters(ins.clusters))];
  },
};
