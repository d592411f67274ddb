// ui.js -- the few pieces every page is made of: elements built from
// data (text always set as text, never parsed as markup), tables, key and
// value lists, notices, and charts drawn with ECharts that follow the
// window's size and are let go when the page changes.
import { t, fmt } from './i18n.js';

export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'for') el.htmlFor = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat(Infinity)) if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

// Text that is the customer's data or the server's words (ids, names,
// conditions, messages), marked so that no translator, person or program,
// takes it for the console's own.
export function data(text) { return h('span', { translate: 'no', text: text == null ? '–' : String(text) }); }

export function title(key, vars) { return h('h1', { text: t(key, vars) }); }

export function section(key, ...kids) {
  return h('section', { class: 'card' }, h('h2', { text: t(key) }), ...kids);
}

// cols: [{key: label key (with raw: the heading itself), get: row => value
// or Node, num: right-aligned, data: the column shows data (marked
// translate=no)}]
export function table(cols, rows, captionKey) {
  // raw: the heading is a name from the data, not a key
  const head = h('tr', null, cols.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null, translate: c.raw ? 'no' : null, text: c.raw ? c.key : t(c.key) })));
  const body = rows.map((r) => h('tr', null, cols.map((c) => {
    const v = c.get(r);
    return h('td', { class: c.num ? 'num' : null, translate: c.data ? 'no' : null }, v instanceof Node ? v : v == null ? '–' : String(v));
  })));
  return h('div', { class: 'scroll' }, h('table', null, captionKey ? h('caption', { text: t(captionKey) }) : null,
    h('thead', null, head), h('tbody', null, body.length ? body : h('tr', null, h('td', { colspan: cols.length, class: 'empty', text: t('common.none') })))));
}

// pairs: [[label key, value]] (with worded set: [label text, value])
export function facts(pairs, worded) {
  return h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', { text: worded ? k : t(k) }), h('dd', null, v == null ? '–' : v)]));
}

export function notice(kind, text, detail) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('span', { text }),
    detail ? h('details', null, h('summary', { text: t('common.details') }), h('pre', { translate: 'no', text: detail })) : null);
}

export function errorNotice(e) {
  const known = e && e.code ? `error.${e.code}` : null;
  const text = known && t(known) !== known ? t(known) : t('error.generic', { status: e && e.status ? e.status : '' });
  return notice('error', text, e && e.message);
}

export function button(key, onclick, props) {
  return h('button', { type: 'button', ...props, onclick }, t(key));
}

export function link(href, text) { return h('a', { href, text, translate: 'no' }); }

export function stat(key, value) {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-v', text: value }), h('div', { class: 'stat-k', text: t(key) }));
}

// ---- charts ------------------------------------------------------------------

let charts = [];
const resize = new ResizeObserver((entries) => {
  for (const e of entries) {
    const c = window.echarts && window.echarts.getInstanceByDom(e.target);
    if (c) c.resize();
  }
});

export function chart(option, labelKey) {
  const el = h('div', { class: 'chart', role: 'img', 'aria-label': t(labelKey) });
  requestAnimationFrame(() => {
    if (!el.isConnected || !window.echarts) return;
    const c = window.echarts.init(el, null, { renderer: 'canvas' });
    c.setOption({ animation: false, textStyle: { fontFamily: 'inherit' }, grid: { left: 56, right: 56, top: 40, bottom: 40 }, tooltip: { trigger: 'axis' }, ...option });
    charts.push(c);
    resize.observe(el);
  });
  return el;
}

export function releaseCharts() {
  for (const c of charts) {
    const el = c.getDom();
    if (el) resize.unobserve(el);
    c.dispose();
  }
  charts = [];
}

export { fmt };
