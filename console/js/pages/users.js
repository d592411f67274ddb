// users.js -- one person looked up by any of its identifiers: the masked
// personal fields, its identifiers, lifecycle and key figures, the latest
// events as a timeline, recommendations with their reasons, eligible
// offers with their disclosures, and for admins subject access and erasure.
import { get, api, session } from '../api.js';
import { t, fmt, label } from '../i18n.js';
import { h, title, section, table, facts, notice, errorNotice, button, link, data } from '../ui.js';

const KEY_FEATURES = ['lifecycle', 'gender', 'age', 'city', 'orders', 'monetary', 'monetary_90d', 'aov',
  'days_since_active', 'days_since_purchase', 'top_category', 'preferred_channel', 'price_sensitivity',
  'on_time_rate', 'debt', 'defaulted'];

// Features whose values are codes with words in the tables.
const CODED = { lifecycle: 'lifecycle', preferred_channel: 'channel', signup_channel: 'channel', top_category: 'category',
  top_leaf_category: 'category', gender: 'gender', defaulted: 'answer' };

const MONEY = new Set(['monetary', 'monetary_30d', 'monetary_90d', 'monetary_365d', 'aov', 'debt', 'repay_amount']);

function value(k, v) {
  if (v == null) return '–';
  if (typeof v === 'number') return MONEY.has(k) ? fmt.money(v) : fmt.num(v, 2);
  if (CODED[k]) return data(label(CODED[k], v)); // a code without words is the customer's own
  return data(v);
}

function finder(id) {
  const input = h('input', { id: 'user-id', type: 'search', value: id || '', required: true, spellcheck: 'false', autocomplete: 'off' });
  return h('form', { class: 'row', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    if (input.value.trim()) location.hash = `#/users/${encodeURIComponent(input.value.trim())}`;
  } }, h('label', { for: 'user-id', text: t('users.find_label') }), input, h('button', { type: 'submit', id: 'find', text: t('users.find') }));
}

function reasonText(it) {
  const w = it.why;
  if (!w) return it.reason || '';
  return t(`why.${w.kind}`, { item: w.item || '', category: label('category', w.category), who: t(`why.who.${w.who || 'everybody'}`) }) + (w.category ? ` ${t('why.in_category', { category: label('category', w.category) })}` : '') +
    (w.note ? ` ${t(`why.note.${w.note}`)}` : '');
}

// Segments, tags, RFM, credit band and consents.
function standing(sum, f) {
  const tags = Object.entries(f).filter(([k, v]) => k.startsWith('tag_') && v != null && v !== false && v !== 0 && v !== 'no');
  const chips = (xs) => (xs.length ? h('ul', { class: 'chips' }, xs.map((x) => h('li', null, x))) : t('common.none'));
  const r = sum.rfm, c = sum.credit;
  return h('div', { class: 'two' },
    section('users.standing', facts([
      ['users.segments', chips(sum.segments.map((x) => data(x)))],
      ['users.tags', chips(tags.map(([k, v]) => data(v === true || v === 1 || v === 'yes' ? k.slice(4) : `${k.slice(4)}: ${v}`)))],
      ['users.rfm', r && r.segment ? `${label('rfm', r.segment)} (R${r.r} F${r.f} M${r.m})` : t('users.no_orders')],
      ['users.credit', c ? t('users.band', { band: c.band, pd: fmt.pct(c.pd, 1), score: fmt.num(c.score) }) : t('users.no_card')],
      ['users.credit_reasons', c && c.reasons.length ? c.reasons.map((x) => label('feature', x)).join(', ') : '–'],
    ])),
    section('users.consents', table([
      { key: 'users.purpose', get: (x) => label('purpose', x.purpose) },
      { key: 'users.granted', get: (x) => h('span', { class: x.granted ? 'yes' : 'no', text: t(x.granted ? 'users.granted_yes' : 'users.granted_no') }) },
      { key: 'users.at', get: (x) => fmt.time(x.at) },
      { key: 'users.id', get: (x) => x.user, data: true },
    ], sum.consents)));
}

// The person's identifiers and the links that joined them (or were refused, or split).
function identities(d) {
  return section('users.identities', h('div', { class: 'two' },
    table([
      { key: 'users.id', get: (x) => link(`#/users/${encodeURIComponent(x.id)}`, x.id) },
      { key: 'users.kind', get: (x) => label('idkind', x.kind) },
    ], d.identifiers),
    table([
      { key: 'users.link', get: (x) => data(`${x.a} — ${x.b}`) },
      { key: 'users.at', get: (x) => fmt.time(x.at) },
      { key: 'users.source', get: (x) => label('source', x.source) },
      { key: 'users.state', get: (x) => h('span', { title: x.reason || null, text: t(`link.${x.state}`) }) },
    ], d.links)));
}

async function adminActions(id) {
  const out = h('div', { 'aria-live': 'polite' });
  const access = button('users.access', async () => {
    try {
      const d = await get(`/v1/users/${encodeURIComponent(id)}/data`);
      const a = h('a', { href: URL.createObjectURL(new Blob([JSON.stringify(d, null, 2)], { type: 'application/json' })), download: `${id}.json`, text: t('users.access_ready') });
      out.replaceChildren(notice('ok', t('users.access_done')), a);
    } catch (e) { out.replaceChildren(errorNotice(e)); }
  });
  const erase = button('users.erase', async () => {
    if (!window.confirm(t('users.erase_confirm', { id }))) return;
    try {
      await api('DELETE', `/v1/users/${encodeURIComponent(id)}`);
      out.replaceChildren(notice('ok', t('users.erased', { id })));
    } catch (e) { out.replaceChildren(errorNotice(e)); }
  }, { class: 'danger' });
  return section('users.privacy', h('p', { text: t('users.privacy_note') }), h('div', { class: 'row' }, access, erase), out);
}

export default {
  roles: ['admin', 'analyst', 'service'],
  async render([id]) {
    const page = [title('users.title'), finder(id)];
    if (!id) return [...page, h('p', { class: 'sub', text: t('users.hint') })];
    const role = session.me.role;
    const enc = encodeURIComponent(id);
    const [p, recs, offers, events, sum, idn] = await Promise.all([
      get(`/v1/users/${enc}`),
      get(`/v1/users/${enc}/recommendations?n=10`).catch((e) => e),
      get(`/v1/users/${enc}/offers`).catch((e) => e),
      role === 'service' ? null : get(`/v1/users/${enc}/events?n=30`).catch((e) => e),
      role === 'service' ? null : get(`/v1/users/${enc}/summary`).catch((e) => e),
      role === 'service' ? null : get(`/v1/users/${enc}/identity`).catch((e) => e),
    ]);
    const f = p.features || {};
    page.push(h('h2', { class: 'who-title', text: t('users.person', { id: p.person || p.user }) }));
    if (p.profiling === 'withdrawn') page.push(notice('warn', t('users.withdrawn')));
    page.push(h('div', { class: 'two' },
      section('users.identity', facts([
        ['users.id', data(p.user)], ['users.name', data(p.name)], ['users.phone', data(p.phone)], ['users.email', data(p.email)],
        ['users.id_number', data(p.id_number)], ['users.as_of', fmt.time(p.as_of)],
        ['users.identifiers', h('span', null, (p.identifiers || []).map((x, i) => [i ? ', ' : '', link(`#/users/${encodeURIComponent(x)}`, x)]))],
      ])),
      section('users.key_figures', facts(KEY_FEATURES.filter((k) => k in f).map((k) => [label('feature', k), value(k, f[k])]), true))));
    if (sum) page.push(sum instanceof Error ? errorNotice(sum) : standing(sum, f));
    page.push(section('users.recommendations', recs instanceof Error ? errorNotice(recs) : table([
      { key: 'users.item', get: (it) => it.item, data: true },
      { key: 'users.category', get: (it) => label('category', it.category) },
      { key: 'users.score', get: (it) => fmt.fixed(it.score, 3), num: true },
      { key: 'users.reason', get: reasonText },
    ], recs.items || [])));
    page.push(section('users.offers', offers instanceof Error ? errorNotice(offers) : table([
      { key: 'users.product', get: (o) => o.name, data: true },
      { key: 'users.kind', get: (o) => label('product', o.kind) },
      { key: 'users.amount', get: (o) => fmt.money(o.amount), num: true },
      { key: 'users.apr', get: (o) => fmt.pct(o.apr, 2), num: true },
      { key: 'users.disclosure', get: (o) => o.disclosure, data: true },
    ], offers.offers || [])));
    if (events) page.push(section('users.timeline', events instanceof Error ? errorNotice(events) : h('ol', { class: 'timeline' },
      (events.events || []).map((e) => h('li', null, h('time', { datetime: e.ts, text: fmt.time(e.ts) }), ' ',
        h('strong', { text: label('event', e.type) }), ' ', data(e.item || e.query || ''), e.amount != null ? ` · ${fmt.money(e.amount)}` : '',
        e.channel ? ` · ${label('channel', e.channel)}` : '')))));
    if (idn) page.push(idn instanceof Error ? errorNotice(idn) : identities(idn));
    page.push(h('details', { class: 'card' }, h('summary', { text: t('users.all_features') }),
      facts(Object.entries(f).map(([k, v]) => [label('feature', k), value(k, v)]), true)));
    if (role === 'admin') page.push(await adminActions(p.user));
    return page;
  },
};
