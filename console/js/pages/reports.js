// reports.js -- what a campaign earned: each arm against the control
// (hold-out) with conversion rates and their intervals, absolute and
// relative lift, p-values adjusted for the number of arms, revenue per
// user, incremental revenue and ROI, the sample-ratio check; a chart of
// the rates with their intervals; the table as CSV.
import { get } from '../api.js';
import { t, fmt, label } from '../i18n.js';
import { h, title, section, table, facts, notice, chart, link } from '../ui.js';
import { decisionsTable } from './campaigns.js';

// the control groups by their words; an arm by its name (the customer's)
const control = (g) => g === 'holdout' || g === 'global_control';
const groupLabel = (g) => (control(g) ? t(`decision.${g}`) : g);
const groupName = (g) => (control(g) ? t(`decision.${g}`) : h('span', { translate: 'no', text: g }));

const iv = (x, f) => (x && x.value != null ? `${f(x.value)} [${f(x.lo)}, ${f(x.hi)}]` : '–');

const COLS = [
  { key: 'report.group', get: (g) => groupName(g.group), csv: (g) => g.group },
  { key: 'report.users', get: (g) => fmt.num(g.users), num: true, csv: (g) => g.users },
  { key: 'report.converted', get: (g) => fmt.num(g.converted), num: true, csv: (g) => g.converted },
  { key: 'report.rate', get: (g) => iv(g.conversion_rate, (v) => fmt.pct(v, 2)), num: true, csv: (g) => g.conversion_rate.value },
  { key: 'report.lift_abs', get: (g) => iv(g.lift && g.lift.conversion_abs, (v) => fmt.pct(v, 2)), num: true, csv: (g) => g.lift ? g.lift.conversion_abs.value : '' },
  { key: 'report.lift_rel', get: (g) => iv(g.lift && g.lift.conversion_rel, (v) => fmt.pct(v, 1)), num: true, csv: (g) => g.lift ? g.lift.conversion_rel.value : '' },
  { key: 'report.p_adj', get: (g) => (g.lift ? fmt.fixed(g.lift.conversion_p_adjusted, 4) : '–'), num: true, csv: (g) => g.lift ? g.lift.conversion_p_adjusted : '' },
  { key: 'report.rpu', get: (g) => fmt.money(g.revenue_per_user), num: true, csv: (g) => g.revenue_per_user },
  { key: 'report.incremental', get: (g) => iv(g.lift && g.lift.incremental_revenue, fmt.money), num: true, csv: (g) => g.lift ? g.lift.incremental_revenue.value : '' },
  { key: 'report.roi', get: (g) => iv(g.lift && g.lift.roi, (v) => fmt.pct(v, 0)), num: true, csv: (g) => g.lift ? g.lift.roi.value : '' },
  { key: 'report.sends', get: (g) => fmt.num(g.sends), num: true, csv: (g) => g.sends },
  { key: 'report.cost', get: (g) => fmt.money(g.cost), num: true, csv: (g) => g.cost },
];

function csv(r) {
  const q = (v) => (v == null ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const lines = [COLS.map((c) => q(t(c.key))).join(',')].concat(r.groups.map((g) => COLS.map((c) => q(c.csv(g))).join(',')));
  return new Blob(['\ufeff' + lines.join('\r\n') + '\r\n'], { type: 'text/csv' }); // a BOM: spreadsheets read it as UTF-8
}

function rates(r) {
  const groups = r.groups.map((g) => groupLabel(g.group));
  const v = r.groups.map((g) => g.conversion_rate);
  return chart({
    tooltip: { trigger: 'item', formatter: (p) => `${p.name}: ${fmt.pct(v[p.dataIndex].value, 2)} [${fmt.pct(v[p.dataIndex].lo, 2)}, ${fmt.pct(v[p.dataIndex].hi, 2)}]` },
    xAxis: { type: 'category', data: groups },
    yAxis: { type: 'value', name: t('report.rate'), axisLabel: { formatter: (x) => fmt.pct(x, 1) } },
    series: [
      { type: 'bar', name: t('report.rate'), data: v.map((x) => x.value), barMaxWidth: 56 },
      { type: 'custom', name: t('report.interval'), data: v.map((x, i) => [i, x.lo, x.hi]), z: 10,
        encode: { x: 0, y: [1, 2] }, // the axis reaches the intervals' ends
        renderItem: (params, api) => {
          const lo = api.coord([api.value(0), api.value(1)]), hi = api.coord([api.value(0), api.value(2)]);
          const w = api.size([1, 0])[0] * 0.15;
          const style = { stroke: '#222', lineWidth: 1.5 };
          return { type: 'group', children: [
            { type: 'line', shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style },
            { type: 'line', shape: { x1: lo[0] - w, y1: lo[1], x2: lo[0] + w, y2: lo[1] }, style },
            { type: 'line', shape: { x1: hi[0] - w, y1: hi[1], x2: hi[0] + w, y2: hi[1] }, style }] };
        } },
    ],
  }, 'report.chart');
}

function cumulative(r) {
  const days = Math.max(0, ...r.groups.map((g) => (g.cumulative_conversion || []).length));
  return chart({
    tooltip: { trigger: 'axis', valueFormatter: (v) => fmt.pct(v, 2) },
    legend: { data: r.groups.map((g) => groupLabel(g.group)) },
    xAxis: { type: 'category', name: t('report.day'), data: Array.from({ length: days }, (_, i) => fmt.num(i + 1)) },
    yAxis: { type: 'value', axisLabel: { formatter: (x) => fmt.pct(x, 1) } },
    series: r.groups.map((g) => ({ type: 'line', name: groupLabel(g.group), data: g.cumulative_conversion || [], showSymbol: false })),
  }, 'report.cumulative');
}

async function one(id) {
  const r = await get(`/v1/campaigns/${encodeURIComponent(id)}/report`);
  const url = URL.createObjectURL(csv(r));
  const srm = r.sample_ratio || {};
  return [title('report.title', { id }),
    h('p', { class: 'sub' }, link(`#/campaigns/${encodeURIComponent(id)}`, t('report.back'))),
    srm.mismatch ? notice('warn', t('report.srm', { p: fmt.fixed(srm.p, 4) })) : null,
    section('report.summary', facts([
      ['report.first', fmt.time(r.first_exposure)], ['report.last', fmt.time(r.last_exposure)],
      ['report.window', t('report.days', { n: fmt.num(r.window_days) })], ['report.control', h('span', { translate: 'no', text: r.control || '–' })],
      ['report.confidence', fmt.pct(r.confidence, 0)], ['report.correction', t(`correction.${r.correction}`)]])),
    section('report.groups', table(COLS, r.groups),
      h('a', { class: 'button', id: 'report-csv', href: url, download: `${id}-report.csv`, text: t('report.csv') })),
    section('report.chart', rates(r)),
    section('report.cumulative', cumulative(r)),
    section('report.decisions', decisionsTable(r.decisions)),
    r.uplift ? section('report.uplift', facts([
      ['report.uplift_method', t(`uplift.${r.uplift.method}`)],
      ['report.uplift_units', t('report.uplift_units_of', { treated: fmt.num(r.uplift.treated), control: fmt.num(r.uplift.control) })],
      ['report.qini', r.uplift.test_qini == null ? t('report.qini_none')
        : h('span', { id: 'r-qini', text: t('report.qini_of', { qini: fmt.fixed(r.uplift.test_qini, 3), units: fmt.num(r.uplift.test_units) }) })],
      ['report.uplift_features', r.uplift.features.map((f) => label('feature', f)).join(', ')]]),
    h('p', { class: 'muted', text: t('report.uplift_note') })) : null];
}

export default {
  roles: ['admin', 'analyst'],
  async render([id]) {
    if (id) return one(id);
    const d = await get('/v1/campaigns');
    return [title('report.pick'), section('campaigns.all', table([
      { key: 'campaigns.id', get: (c) => link(`#/reports/${encodeURIComponent(c.id)}`, c.id) },
      { key: 'campaigns.name', get: (c) => c.name, data: true },
      { key: 'campaigns.sends', get: (c) => fmt.num(c.sends), num: true },
    ], d.campaigns))];
  },
};
