// campaigns.js -- campaigns: the list with status and totals; a form that
// writes the definition (and the definition itself, for what the form does
// not hold) checked by the server as it changes, as `campaign create`
// checks it; one campaign's state, a preview of who would receive what (a
// dry run), run now, pause and resume, and the way to its report.
import { get, post, api, session } from '../api.js';
import { t, fmt, label } from '../i18n.js';
import { h, title, section, table, facts, notice, errorNotice, button, link, data } from '../ui.js';

const CHANNELS = ['push', 'sms', 'email', 'in_app'];
const PURPOSES = ['marketing_push', 'marketing_sms', 'marketing_email', 'credit_offers'];

export function decisionsTable(dec) {
  return table([
    { key: 'campaigns.decision', get: ([k]) => t(`decision.${k}`) },
    { key: 'campaigns.users', get: ([, v]) => fmt.num(v), num: true },
  ], Object.entries(dec || {}).filter(([, v]) => v > 0), null);
}

function list(d) {
  const rows = d.campaigns;
  const add = session.me.role === 'service' ? null : h('a', { class: 'button', href: '#/campaigns/new', id: 'new-campaign', text: t('campaigns.new') });
  return [title('campaigns.title'), h('div', { class: 'row' }, add), section('campaigns.all', table([
    { key: 'campaigns.id', get: (c) => link(`#/campaigns/${encodeURIComponent(c.id)}`, c.id) },
    { key: 'campaigns.name', get: (c) => c.name, data: true },
    { key: 'campaigns.status', get: (c) => h('span', { class: `badge ${c.status}`, text: t(`status.${c.status}`) }) },
    { key: 'campaigns.runs', get: (c) => fmt.num(c.runs), num: true },
    { key: 'campaigns.sends', get: (c) => fmt.num(c.sends), num: true },
    { key: 'campaigns.cost', get: (c) => fmt.money(c.cost), num: true },
    { key: 'campaigns.last_run', get: (c) => fmt.time(c.last_run_at) },
    { key: 'campaigns.report', get: (c) => link(`#/reports/${encodeURIComponent(c.id)}`, t('campaigns.report')) },
  ], rows))];
}

// ---- the form ------------------------------------------------------------------

function field(id, key, input, hint) {
  return h('div', { class: 'field' }, h('label', { for: id, text: t(key) }), input, hint ? h('small', { class: 'muted', text: t(hint) }) : null);
}

function editor(existing) {
  const def = existing ? existing.definition : null;
  const f = {
    id: h('input', { id: 'c-id', required: true, spellcheck: 'false', value: def ? def.id : '', readonly: !!def }),
    name: h('input', { id: 'c-name', required: true, value: def ? def.name || '' : '' }),
    audience: h('textarea', { id: 'c-audience', rows: 2, spellcheck: 'false' }),
    content: h('select', { id: 'c-content' }, ['recommendations', 'coupon', 'offer'].map((v) => h('option', { value: v, text: t(`content.${v}`) }))),
    n: h('input', { id: 'c-n', type: 'number', min: 1, max: 50, value: 3 }),
    code: h('input', { id: 'c-code', spellcheck: 'false' }),
    value: h('input', { id: 'c-value', type: 'number', min: 0, step: 'any' }),
    holdout: h('input', { id: 'c-holdout', type: 'number', min: 0, max: 90, step: 'any', value: 10 }),
    consent: h('select', { id: 'c-consent' }, PURPOSES.map((v) => h('option', { value: v, text: t(`purpose.${v}`) }))),
    cap: h('input', { id: 'c-cap', type: 'number', min: 0, value: 1 }),
    window: h('input', { id: 'c-window', type: 'number', min: 1, max: 90, value: 3 }),
  };
  f.audience.value = def ? def.audience || '' : '';
  const boxes = CHANNELS.map((c) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: c, checked: def ? (def.channels || []).includes(c) : c === 'push' }), t(`channel.${c}`)));
  const json = h('textarea', { id: 'c-json', rows: 14, spellcheck: 'false', class: 'code' });
  const verdict = h('div', { id: 'c-check', 'aria-live': 'polite' });
  const out = h('div', { 'aria-live': 'polite' });
  let edited = !!def; // once the definition is edited by hand, the form no longer rewrites it
  if (def) json.value = JSON.stringify(def, null, 2);

  function fromForm() {
    const content = f.content.value === 'recommendations' ? { type: 'recommendations', n: Number(f.n.value) || 3 }
      : f.content.value === 'coupon' ? { type: 'coupon', code: f.code.value, value: Number(f.value.value) || 0 }
        : { type: 'offer' };
    const d = { id: f.id.value.trim(), name: f.name.value.trim(), audience: f.audience.value.trim(),
      channels: boxes.map((b) => b.firstChild).filter((x) => x.checked).map((x) => x.value), content,
      holdout: Number(f.holdout.value), consent: f.consent.value,
      attribution: { window: `${Number(f.window.value) || 3}d` } };
    if (Number(f.cap.value) > 0) d.caps = [{ max: Number(f.cap.value), per: 'day' }];
    if (!d.audience) delete d.audience;
    return d;
  }
  let seq = 0, timer = null;
  async function check() {
    const my = ++seq;
    try {
      const r = await api('POST', '/v1/campaigns?check=true', json.value);
      if (my !== seq) return;
      verdict.replaceChildren(r.valid ? notice('ok', t('campaigns.valid', { kind: t(`kind.${r.kind}`) }))
        : notice('error', t('campaigns.invalid'), r.message));
    } catch (e) { if (my === seq) verdict.replaceChildren(errorNotice(e)); }
  }
  const soon = () => { clearTimeout(timer); timer = setTimeout(check, 250); };
  const sync = () => { if (!edited) json.value = JSON.stringify(fromForm(), null, 2); soon(); };
  for (const x of Object.values(f)) x.addEventListener('input', sync);
  for (const b of boxes) b.addEventListener('change', sync);
  json.addEventListener('input', () => { edited = true; soon(); });
  if (!def) sync(); else soon();

  const form = h('form', { class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    try {
      const r = await api('POST', def ? '/v1/campaigns?replace=true' : '/v1/campaigns', json.value);
      location.hash = `#/campaigns/${encodeURIComponent(r.id)}`;
    } catch (e) { out.replaceChildren(errorNotice(e)); }
  } },
  h('div', { class: 'grid' },
    field('c-id', 'campaigns.id', f.id), field('c-name', 'campaigns.name', f.name),
    field('c-audience', 'campaigns.audience', f.audience, 'campaigns.audience_hint'),
    h('fieldset', null, h('legend', { text: t('campaigns.channels') }), boxes),
    field('c-content', 'campaigns.content', f.content), field('c-n', 'campaigns.n', f.n),
    field('c-code', 'campaigns.code', f.code), field('c-value', 'campaigns.value', f.value),
    field('c-holdout', 'campaigns.holdout', f.holdout), field('c-consent', 'campaigns.consent', f.consent),
    field('c-cap', 'campaigns.cap', f.cap), field('c-window', 'campaigns.window', f.window)),
  field('c-json', 'campaigns.definition', json, 'campaigns.definition_hint'), verdict,
  h('button', { type: 'submit', id: 'c-save', text: t(def ? 'campaigns.save' : 'campaigns.create') }), out);
  return form;
}

// ---- one campaign ----------------------------------------------------------------

// What one delivery would carry, in short: the items, the coupon, the offer.
function contentOf(c) {
  if (Array.isArray(c)) return c.map((x) => (x && x.item) || x).join(', ');
  if (c && Array.isArray(c.items)) return c.items.map((x) => (x && x.item) || x).join(', ');
  if (c && c.type === 'coupon') return t('campaigns.coupon_of', { code: c.code, value: fmt.money(c.value) });
  if (c && (c.name || c.product)) return c.name || c.product;
  return JSON.stringify(c);
}

function preview(sample) {
  return [h('h4', { text: t('campaigns.who_what') }), table([
    { key: 'campaigns.user', get: (x) => x.user, data: true },
    { key: 'campaigns.arm', get: (x) => x.arm, data: true },
    { key: 'campaigns.channel', get: (x) => label('channel', x.channel) },
    { key: 'campaigns.when', get: (x) => fmt.time(x.at) },
    { key: 'campaigns.content', get: (x) => h('span', { translate: 'no', text: contentOf(x.content) }) },
  ], sample)];
}

function runResult(r) {
  return h('div', { class: 'card', id: 'run-result' },
    h('h3', { text: t(r.dry_run ? 'campaigns.preview_of' : 'campaigns.run_of', { at: fmt.time(r.at) }) }),
    facts([['campaigns.audience_size', fmt.num(r.audience)], ['campaigns.cost', fmt.money(r.cost)]]),
    decisionsTable(r.decisions),
    table([{ key: 'campaigns.arm', get: ([k]) => k, data: true }, { key: 'campaigns.sends', get: ([, v]) => fmt.num(v), num: true }],
      Object.entries(r.deliveries_by_arm || {})),
    r.sample ? preview(r.sample) : null);
}

async function detail(id, rerender) {
  const c = await get(`/v1/campaigns/${encodeURIComponent(id)}`);
  const out = h('div', { 'aria-live': 'polite' });
  const act = (key, fn, props) => button(key, async () => {
    out.replaceChildren(h('p', { class: 'loading', text: t('common.working') }));
    try { await fn(); } catch (e) { out.replaceChildren(errorNotice(e)); }
  }, props);
  const enc = encodeURIComponent(id);
  const admin = session.me.role === 'admin';
  const actions = h('div', { class: 'row' },
    act('campaigns.preview', async () => out.replaceChildren(runResult(await post(`/v1/campaigns/${enc}/run`, { dry_run: true }))), { id: 'c-preview' }),
    admin ? act('campaigns.run', async () => {
      if (!window.confirm(t('campaigns.run_confirm', { id }))) { out.replaceChildren(); return; }
      out.replaceChildren(runResult(await post(`/v1/campaigns/${enc}/run`, {})));
    }, { id: 'c-run' }) : null,
    c.status === 'active' ? act('campaigns.pause', async () => { await post(`/v1/campaigns/${enc}/pause`); rerender(); }, { id: 'c-pause' })
      : act('campaigns.resume', async () => { await post(`/v1/campaigns/${enc}/resume`); rerender(); }, { id: 'c-resume' }),
    h('a', { class: 'button', href: `#/campaigns/${enc}/edit`, text: t('campaigns.edit') }),
    h('a', { class: 'button', href: `#/reports/${enc}`, id: 'c-report', text: t('campaigns.report') }));
  const def = c.definition || {};
  return [title('campaigns.one', { id: c.id }), h('p', { class: 'sub', translate: 'no', text: c.name }),
    section('campaigns.state', facts([
      ['campaigns.status', h('span', { class: `badge ${c.status}`, text: t(`status.${c.status}`) })],
      ['campaigns.kind', t(`kind.${c.kind}`)], ['campaigns.runs', fmt.num(c.runs)], ['campaigns.sends', fmt.num(c.sends)],
      ['campaigns.cost', fmt.money(c.cost)], ['campaigns.last_run', fmt.time(c.last_run_at)],
      ['campaigns.audience', def.audience ? h('code', { translate: 'no', text: def.audience }) : t('campaigns.everyone')],
      ['campaigns.channels', (def.channels || []).map((x) => t(`channel.${x}`)).join(', ')],
      ['campaigns.holdout', fmt.pct((def.holdout || 0) / 100)]])),
    actions, out,
    h('details', { class: 'card' }, h('summary', { text: t('campaigns.definition') }), h('pre', { class: 'code', translate: 'no', text: JSON.stringify(def, null, 2) }))];
}

export default {
  roles: ['admin', 'analyst'],
  async render([id, sub], rerender) {
    if (!id) return list(await get('/v1/campaigns'));
    if (id === 'new') return [title('campaigns.new'), editor(null)];
    if (sub === 'edit') {
      const c = await get(`/v1/campaigns/${encodeURIComponent(id)}`);
      return [title('campaigns.edit_one', { id }), editor(c)];
    }
    return detail(id, rerender);
  },
};
