// data.js -- what came in and how good it is: the bulk imports, the
// quarantine by reason with its records (personal data masked, where each
// came from and why), and the features that drifted since some days ago.
import { get } from '../api.js';
import { t, fmt, label } from '../i18n.js';
import { h, title, section, table, notice, errorNotice, chart, data } from '../ui.js';
import { reasonName } from './overview.js';

function imports(d) {
  return table([
    { key: 'data.at', get: (x) => fmt.time(x.at) },
    { key: 'data.source', get: (x) => x.source, data: true },
    { key: 'data.read', get: (x) => fmt.num(x.read), num: true },
    { key: 'data.accepted', get: (x) => fmt.num(x.accepted), num: true },
    { key: 'data.duplicates', get: (x) => fmt.num(x.duplicates), num: true },
    { key: 'data.quarantined', get: (x) => fmt.num(x.quarantined), num: true },
  ], d.imports.slice().reverse());
}

async function records(box, reason, after) {
  const q = new URLSearchParams({ n: 20 });
  if (reason) q.set('reason', reason);
  if (after != null) q.set('after', after);
  const d = await get(`/v1/quarantine?${q}`);
  const more = d.next_after != null ? h('button', { type: 'button', id: 'q-more', onclick: () => records(box, reason, d.next_after).catch((e) => box.replaceChildren(errorNotice(e))) }, t('data.next')) : null;
  box.replaceChildren(table([
    { key: 'data.source', get: (x) => data(`${x.source}:${x.line}`) },
    { key: 'overview.reason', get: (x) => reasonName(x.reason) },
    { key: 'data.message', get: (x) => x.message, data: true },
    { key: 'data.preview', get: (x) => h('code', { translate: 'no', class: 'preview', text: x.preview }) },
  ], d.records), more);
}

function quarantine(d) {
  const box = h('div', { id: 'q-records' });
  const pick = h('select', { id: 'q-reason' }, h('option', { value: '', text: t('data.all_reasons') }),
    d.counts.map((c) => h('option', { value: c.reason, text: `${reasonName(c.reason)} (${fmt.num(c.n)})` })));
  pick.addEventListener('change', () => records(box, pick.value).catch((e) => box.replaceChildren(errorNotice(e))));
  records(box, '').catch((e) => box.replaceChildren(errorNotice(e)));
  if (!d.counts.length) return h('p', { class: 'muted', text: t('data.clean') });
  return [chart({
    tooltip: { trigger: 'axis' },
    grid: { left: 160, right: 24, top: 16, bottom: 32 },
    xAxis: { type: 'value' },
    yAxis: { type: 'category', data: d.counts.map((c) => reasonName(c.reason)).reverse() },
    series: [{ type: 'bar', name: t('data.quarantined'), data: d.counts.map((c) => c.n).reverse() }],
  }, 'data.by_reason'), h('div', { class: 'row' }, h('label', { for: 'q-reason', text: t('data.show') }), pick), box];
}

function drift(d) {
  const alerts = d.features.filter((x) => x.band !== 'stable');
  return [h('p', { class: 'muted', text: t('data.drift_between', { from: fmt.time(d.from), to: fmt.time(d.to) }) }),
    alerts.length ? notice('warn', t('data.drift_alert', { n: fmt.num(alerts.length) })) : notice('ok', t('data.drift_none')),
    table([
      { key: 'data.feature', get: (x) => label('feature', x.feature) },
      { key: 'data.psi', get: (x) => fmt.fixed(x.psi, 3), num: true },
      { key: 'data.reading', get: (x) => h('span', { class: `psi ${x.band}`, text: t(`psi.${x.band}`) }) },
    ], d.features.slice(0, 15))];
}

export default {
  roles: ['admin', 'analyst'],
  async render() {
    const [imp, q, dr] = await Promise.all([get('/v1/imports'), get('/v1/quarantine?n=1'),
      get('/v1/insights/drift?days=14').catch((e) => e)]);
    return [title('data.title'), section('data.imports', imports(imp)), section('data.quarantine', quarantine(q)),
      section('data.drift', dr instanceof Error ? errorNotice(dr) : drift(dr))];
  },
};
