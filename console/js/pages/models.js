// models.js -- the models behind the decisions: the recommenders the store
// holds and the one served (its family, users, items, when it was
// loaded), reloading them (admins), and the credit scorecard in force with
// how it did on its training and its features by information value.
import { get, post, session } from '../api.js';
import { t, fmt, label } from '../i18n.js';
import { h, title, section, table, facts, notice, errorNotice, button, chart, data } from '../ui.js';

export default {
  roles: ['admin', 'analyst'],
  async render(args, rerender) {
    const m = await get('/v1/models');
    const out = h('div', { 'aria-live': 'polite' });
    const reload = session.me.role === 'admin' ? button('models.reload', async () => {
      try { await post('/v1/admin/reload'); out.replaceChildren(notice('ok', t('models.reloaded'))); setTimeout(rerender, 800); } catch (e) { out.replaceChildren(errorNotice(e)); }
    }, { id: 'm-reload' }) : null;
    const s = m.served || {};
    const c = m.scorecard;
    const kept = c ? c.features.filter((f) => f.kept).sort((a, b) => b.iv - a.iv) : [];
    return [title('models.title'),
      section('models.recommender', facts([
        ['models.served', data(s.name)], ['models.family', s.family ? label('family', s.family) : t('models.none_loaded')],
        ['models.loaded', fmt.time(s.loaded)], ['models.users', fmt.num(s.users)], ['models.items', fmt.num(s.items)],
        ['models.interactions', fmt.num(s.interactions)],
        ['models.stored', m.stored.length ? m.stored.join(', ') : t('common.none')]]), h('div', { class: 'row' }, reload), out),
      section('models.scorecard', c ? [facts([
        ['models.target', data(c.target)], ['models.rows', fmt.num(c.rows)], ['models.bad_rate', fmt.pct(c.rows ? c.bads / c.rows : null, 1)],
        ['models.auc', h('span', { id: 'm-auc', text: fmt.fixed(c.auc, 3) })], ['models.ks', fmt.fixed(c.ks, 3)],
        ['models.kept', t('models.kept_of', { kept: fmt.num(kept.length), all: fmt.num(c.features.length) })]]),
      chart({
        tooltip: { trigger: 'axis' },
        grid: { left: 170, right: 24, top: 16, bottom: 32 },
        xAxis: { type: 'value', name: t('models.iv') },
        yAxis: { type: 'category', data: kept.map((f) => label('feature', f.feature)).reverse() },
        series: [{ type: 'bar', name: t('models.iv'), data: kept.map((f) => Math.round(f.iv * 1000) / 1000).reverse() }],
      }, 'models.iv_chart')] : notice('warn', t('models.no_scorecard')))];
  },
};
