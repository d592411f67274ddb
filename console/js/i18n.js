// i18n.js -- the console's languages: one translation table per language
// (i18n/<lang>.json, the same keys in each), the language chosen from the
// browser's and kept when switched, and numbers, money, dates and times in
// the locale's format. Markup carries keys (data-i18n for text,
// data-i18n-label for aria-label, data-i18n-placeholder), never words.

export const LANGS = ['en', 'zh-CN'];
let table = {};
let lang = 'en';

export function chosen() {
  const kept = localStorage.getItem('tailor.lang');
  if (LANGS.includes(kept)) return kept;
  for (const l of navigator.languages || [navigator.language || 'en'])
    if (/^zh\b/i.test(l)) return 'zh-CN';
    else if (/^en\b/i.test(l)) return 'en';
  return 'en';
}

export async function load(l) {
  const r = await fetch(`/console/i18n/${l}.json`);
  table = await r.json();
  lang = l;
  localStorage.setItem('tailor.lang', l);
  document.documentElement.lang = l;
  document.title = t('app.name');
}

export function current() { return lang; }

// The text of key with {name} replaced from vars; a key missing from the
// table shows as the key itself, which the browser tests look for.
export function t(key, vars) {
  let s = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

// Whether the table has key (for codes the server sends, such as a reason).
export function has(key) { return Object.prototype.hasOwnProperty.call(table, key); }

// The words for a code the server sends (a feature, an event type, a
// channel...) under prefix, or the code itself when the table has none:
// codes that name the customer's own data (categories, tags) stay as they are.
export function label(prefix, code) {
  if (code == null) return '–';
  const key = `${prefix}.${code}`;
  if (has(key)) return t(key);
  const m = /^affinity_(.+)$/.exec(code);
  if (prefix === 'feature' && m) return t('feature.affinity_of', { category: label('category', m[1]) });
  return String(code);
}

export function translate(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
}

const nf = {};
function numfmt(opts) {
  const k = lang + JSON.stringify(opts);
  // no minus sign on a value that rounds to zero (-0.00 %)
  return nf[k] || (nf[k] = new Intl.NumberFormat(lang, { signDisplay: 'negative', ...opts }));
}

export const fmt = {
  num(x, digits = 0) {
    return x == null || Number.isNaN(x) ? '–' : numfmt({ maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(x);
  },
  fixed(x, digits) {
    return x == null || Number.isNaN(x) ? '–' : numfmt({ maximumFractionDigits: digits, minimumFractionDigits: digits }).format(x);
  },
  pct(x, digits = 1) {
    return x == null || Number.isNaN(x) ? '–' : numfmt({ style: 'percent', maximumFractionDigits: digits, minimumFractionDigits: digits }).format(x);
  },
  money(x) {
    return x == null || Number.isNaN(x) ? '–' : numfmt({ style: 'currency', currency: t('money.currency') }).format(x);
  },
  date(s) {
    if (!s) return '–';
    const d = new Date(s.length === 10 ? s + 'T00:00:00' : s);
    return new Intl.DateTimeFormat(lang, { year: 'numeric', month: 'short', day: 'numeric' }).format(d);
  },
  day(s) { // a local date as sent (YYYY-MM-DD), short
    const d = new Date(s + 'T00:00:00');
    return new Intl.DateTimeFormat(lang, { month: 'short', day: 'numeric' }).format(d);
  },
  time(s) {
    if (!s) return '–';
    return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(s));
  },
};
