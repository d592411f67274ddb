// overview.js -- the business at a glance: events and active users by
// local day, revenue and conversion, the campaigns and how they stand, and
// the data-quality alerts (quarantined records by reason).
import { get } from '../api.js';
import { t, fmt } from '../i18n.js';
import { h, title, section, table, stat, chart, link } from '../ui.js';

export function reasonName(code) {
  const k = `reason.${code}`;
  return t(k) === k ? code : t(k);
}

export default {
  roles: ['admin', 'analyst'],
  async render() {
    const tz = -new Date().getTimezoneOffset();
    const d = await get(`/v1/overview?days=30&tz=${tz}`);
    const days = d.days;
    const sum = (f) => days.reduce((a, x) => a + x[f], 0);
    const last = days[days.length - 1] || {};
    const buyers = sum('buyers'), active = sum('users');
    const quarantined = d.quarantine.reduce((a, q) => a + q.n, 0);
    const dates = days.map((x) => fmt.day(x.date));
    const running = d.campaigns.filter((c) => c.status === 'active').length;
    return [
      title('overview.title'),
      h('p', { class: 'sub', text: t('overview.period', { days: days.length, to: fmt.time(d.to) }) }),
      h('div', { class: 'stats' },
        stat('overview.events', fmt.num(sum('events'))),
        stat('overview.active_last', fmt.num(last.users)),
        stat('overview.revenue', fmt.money(sum('revenue'))),
        stat('overview.conversion', fmt.pct(active ? buyers / active : null)),
        stat('overview.running', fmt.num(running)),
        stat('overview.quarantined', fmt.num(quarantined))),
      section('overview.activity', chart({
        legend: { data: [t('overview.events'), t('overview.active')] },
        xAxis: { type: 'category', data: dates },
        yAxis: [{ type: 'value', name: t('overview.events') }, { type: 'value', name: t('overview.active') }],
        series: [
          { name: t('overview.events'), type: 'bar', data: days.map((x) => x.events) },
          { name: t('overview.active'), type: 'line', yAxisIndex: 1, data: days.map((x) => x.users) },
        ],
      }, 'overview.activity')),
      section('overview.sales', chart({
        legend: { data: [t('overview.revenue_day'), t('overview.conversion')] },
        tooltip: { trigger: 'axis', valueFormatter: (v) => (v < 1 ? fmt.pct(v) : fmt.money(v)) },
        xAxis: { type: 'category', data: dates },
        yAxis: [{ type: 'value', name: t('overview.revenue_day') }, { type: 'value', name: t('overview.conversion'), axisLabel: { formatter: (v) => fmt.pct(v, 0) } }],
        series: [
          { name: t('overview.revenue_day'), type: 'bar', data: days.map((x) => Math.round(x.revenue * 100) / 100) },
          { name: t('overview.conversion'), type: 'line', yAxisIndex: 1, data: days.map((x) => x.conversion) },
        ],
      }, 'overview.sales')),
      h('div', { class: 'two' },
        section('overview.campaigns', table([
          { key: 'campaigns.id', get: (c) => link(`#/campaigns/${encodeURIComponent(c.id)}`, c.id) },
          { key: 'campaigns.status', get: (c) => t(`status.${c.status}`) },
          { key: 'campaigns.sends', get: (c) => fmt.num(c.sends), num: true },
          { key: 'campaigns.last_run', get: (c) => fmt.time(c.last_run_at) },
        ], d.campaigns)),
        section('overview.quality', table([
          { key: 'overview.reason', get: (q) => reasonName(q.reason) },
          { key: 'overview.records', get: (q) => fmt.num(q.n), num: true },
        ], d.quarantine))),
    ];
  },
};
