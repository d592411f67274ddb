// models.js -- the models behind the decisions: the recommenders the store
// holds and the one served (its family, users, items, when it was
// loaded), reloading them (admins), and the credit scorecard in force with
// how it did on its training and its features by information value.
import { get, post, session } from '../api.js';
import { t, fmt, label, has } from '../i18n.js';
import { h, title, section, table, facts, notice, errorNotice, button, chart, data } from '../ui.js';

const FAMILIES = ['pop', 'segpop', 'ease', 'ials', 'knn', 'blend'];

// An evaluation's group: an age band in words, else a gender's code.
const groupName = (n) => (has(`group.${n}`) ? t(`group.${n}`) : label('gender', n));

// The metrics of an evaluation, the groups' accuracy and the gap between
// the best and the worst served group.
function evaluation(e) {
  const groups = Object.entries(e.groups || {});
  const ndcgs = groups.filter(([, g]) => g.users > 0).map(([, g]) => g.ndcg);
  const gap = ndcgs.length > 1 ? Math.max(...ndcgs) - Math.min(...ndcgs) : null;
  return h('div', { id: 'm-eval' },
    facts([['models.test_from', fmt.time(e.test_from)], ['models.users_tested', fmt.num(e.users)],
      ['models.ndcg', h('span', { id: 'm-ndcg', text: fmt.fixed(e.ndcg, 4) })], ['models.recall', fmt.fixed(e.recall, 4)],
      ['models.precision', fmt.fixed(e.precision, 4)], ['models.hit_rate', fmt.pct(e.hit_rate, 1)],
      ['models.coverage', fmt.pct(e.coverage, 1)], ['models.novelty', fmt.fixed(e.novelty, 2)],
      ['models.diversity', fmt.fixed(e.diversity, 3)], ['models.gini', fmt.fixed(e.gini, 3)]]),
    groups.length ? [
      gap != null ? notice(gap / Math.max(...ndcgs) > 0.2 ? 'warn' : 'ok', t('models.gap', { gap: fmt.fixed(gap, 4), share: fmt.pct(gap / Math.max(...ndcgs), 0) })) : null,
      table([
        { key: 'models.group', get: ([n]) => groupName(n) },
        { key: 'models.users_tested', get: ([, g]) => fmt.num(g.users), num: true },
        { key: 'models.ndcg', get: ([, g]) => fmt.fixed(g.ndcg, 4), num: true },
        { key: 'models.recall', get: ([, g]) => fmt.fixed(g.recall, 4), num: true },
        { key: 'models.hit_rate', get: ([, g]) => fmt.pct(g.hit_rate, 1), num: true },
      ], groups),
      chart({
        xAxis: { type: 'category', data: groups.map(([n]) => groupName(n)) },
        yAxis: { type: 'value', name: t('models.ndcg') },
        series: [{ type: 'bar', name: t('models.ndcg'), data: groups.map(([, g]) => g.ndcg), barMaxWidth: 56 }],
      }, 'models.by_group')] : null);
}

function evaluator() {
  const model = h('select', { id: 'e-model' }, FAMILIES.map((f) => h('option', { value: f, text: label('family', f) })));
  model.value = 'ials';
  const by = h('select', { id: 'e-by' }, ['', 'gender', 'age'].map((b) => h('option', { value: b, text: t(`models.by_${b || 'none'}`) })));
  by.value = 'age';
  const days = h('input', { id: 'e-days', type: 'number', min: 1, max: 365, value: 7 });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren(h('p', { class: 'loading', text: t('common.working') }));
    try {
      const body = { model: model.value, test_days: Number(days.value) };
      if (by.value) body.by = by.value;
      out.replaceChildren(evaluation(await post('/v1/models/evaluate', body)));
    } catch (e) { out.replaceChildren(errorNotice(e)); }
  } }, h('div', { class: 'row' },
    h('label', { for: 'e-model', text: t('models.family') }), model,
    h('label', { for: 'e-by', text: t('models.by') }), by,
    h('label', { for: 'e-days', text: t('models.test_days') }), days,
    h('button', { type: 'submit', id: 'e-run', text: t('models.evaluate') })), out);
  return form;
}

// The gradient-boosted challenger beside the scorecard: what it is and how
// the two did on the same training rows and, when measured, on folds held
// out of them. The scorecard stays the model in force.
function challenger(b, card) {
  if (!b) return notice('warn', t('models.no_challenger'));
  if (b.error) return notice('error', t('models.challenger_unreadable', { error: b.error }));
  return [h('p', { class: 'muted', text: t(b.held_out ? 'models.challenger_note' : 'models.challenger_note_training') }),
    table([{ key: 'models.figure', get: (r) => r[0] },
      { key: 'models.scorecard', get: (r) => r[1], num: true },
      { key: 'models.challenger', get: (r) => r[2], num: true }], [
      [t('models.rows'), fmt.num(card.rows), fmt.num(b.rows)],
      [t('models.training_auc'), fmt.fixed(card.auc, 3), h('span', { id: 'm-challenger-auc', text: fmt.fixed(b.auc, 3) })],
      [t('models.training_ks'), fmt.fixed(card.ks, 3), fmt.fixed(b.ks, 3)]].concat(b.held_out ? [[
        t('models.held_out_auc', { folds: fmt.num(b.held_out.folds) }), fmt.fixed(b.held_out.scorecard_auc, 3),
        h('span', { id: 'm-held-auc', text: fmt.fixed(b.held_out.challenger_auc, 3) })]] : [])),
    facts([['models.trees', t('models.trees_of', { trees: fmt.num(b.trees), depth: fmt.num(b.depth), eta: fmt.fixed(b.eta, 3) })],
      ['models.columns', t('models.constrained_of', { columns: fmt.num(b.columns), constrained: fmt.num(b.constrained) })]])];
}

export default {
  roles: ['admin', 'analyst'],
  async render(args, rerender) {
    const m = await get('/v1/models');
    const out = h('div', { 'aria-live': 'polite' });
    const admin = session.me.role === 'admin';
    const reload = admin ? button('models.reload', async () => {
      try { await post('/v1/admin/reload'); out.replaceChildren(notice('ok', t('models.reloaded'))); setTimeout(rerender, 800); } catch (e) { out.replaceChildren(errorNotice(e)); }
    }, { id: 'm-reload' }) : null;
    const retrain = admin && m.served && m.served.family ? button('models.retrain', async () => {
      out.replaceChildren(h('p', { class: 'loading', text: t('common.working') }));
      try {
        const r = await post('/v1/models/train', { model: m.served.family, name: m.served.name });
        out.replaceChildren(notice('ok', t('models.retrained', { name: r.name, users: fmt.num(r.users), items: fmt.num(r.items), seconds: fmt.fixed(r.seconds, 1) })));
      } catch (e) { out.replaceChildren(errorNotice(e)); }
    }, { id: 'm-retrain' }) : null;
    const s = m.served || {};
    const c = m.scorecard;
    const kept = c ? c.features.filter((f) => f.kept).sort((a, b) => b.iv - a.iv) : [];
    return [title('models.title'),
      section('models.recommender', facts([
        ['models.served', data(s.name)], ['models.family', s.family ? label('family', s.family) : t('models.none_loaded')],
        ['models.loaded', fmt.time(s.loaded)], ['models.users', fmt.num(s.users)], ['models.items', fmt.num(s.items)],
        ['models.interactions', fmt.num(s.interactions)],
        ['models.stored', m.stored.length ? m.stored.join(', ') : t('common.none')]]), h('div', { class: 'row' }, retrain, reload), out),
      section('models.evaluation', h('p', { class: 'muted', text: t('models.evaluation_note') }), evaluator()),
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
      }, 'models.iv_chart')] : notice('warn', t('models.no_scorecard'))),
      c ? section('models.challenger', challenger(m.challenger, c)) : null];
  },
};
