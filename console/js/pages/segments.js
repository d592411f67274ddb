// segments.js -- the segment builder: the condition checked and its
// audience counted as it is typed (the server's column evaluator over the
// live profiles), a mistake shown where it is; saving it as a segment; the
// stored segments with their sizes now.
import { get, post } from '../api.js';
import { t, fmt } from '../i18n.js';
import { h, title, section, table, notice, errorNotice, data } from '../ui.js';

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

async function list(box) {
  const d = await get('/v1/segments');
  const rows = d.segments.map((s) => ({ ...s, size: h('span', { class: 'muted', text: '…' }) }));
  box.replaceChildren(table([
    { key: 'segments.name', get: (s) => s.name, data: true },
    { key: 'segments.expression', get: (s) => h('code', { text: s.expression }), data: true },
    { key: 'segments.size', get: (s) => s.size, num: true },
  ], rows));
  for (const s of rows) {
    get(`/v1/segments/${encodeURIComponent(s.name)}`).then((r) => { s.size.textContent = fmt.num(r.size); s.size.className = ''; },
      () => { s.size.textContent = '–'; });
  }
}

export default {
  roles: ['admin', 'analyst'],
  async render() {
    const box = h('div');
    const reload = () => list(box).catch((e) => box.replaceChildren(errorNotice(e)));
    await reload();
    return [title('segments.title'), builder(reload), section('segments.stored', box)];
  },
};
