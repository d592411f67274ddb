// app.js -- the console's shell: sign-in with an API key (its role read
// from /v1/me decides which pages show and open), the language switch, the
// navigation, and the router from the address's #/page/arg to the page's
// render. A page is a module with roles and render(main, args).
import { LANGS, chosen, load, t, translate, current } from './i18n.js';
import { api, session, whenUnauthorized } from './api.js';
import { h, notice, errorNotice, releaseCharts } from './ui.js';
import overview from './pages/overview.js';
import users from './pages/users.js';
import segments from './pages/segments.js';
import campaigns from './pages/campaigns.js';
import reports from './pages/reports.js';
import scheduler from './pages/scheduler.js';
import models from './pages/models.js';
import dataPage from './pages/data.js';

const PAGES = { overview, users, segments, campaigns, reports, scheduler, models, data: dataPage };
const ORDER = ['overview', 'users', 'segments', 'campaigns', 'reports', 'scheduler', 'models', 'data'];
const main = document.getElementById('main');
const nav = document.getElementById('nav');

function role() { return session.me && session.me.role; }
function allowed(name) { return PAGES[name] && PAGES[name].roles.includes(role()); }
function home() { return ORDER.find(allowed) || 'users'; }

function drawNav(active) {
  nav.replaceChildren(h('ul', null, ORDER.filter(allowed).map((p) =>
    h('li', null, h('a', { href: `#/${p}`, 'aria-current': p === active ? 'page' : null, text: t(`nav.${p}`) })))));
  const who = document.getElementById('who');
  who.textContent = session.me ? t('signin.as', { role: t(`role.${session.me.role}`), key: session.me.key }) : '';
  document.getElementById('signout').hidden = !session.me;
}

function signIn(message) {
  releaseCharts();
  drawNav(null);
  const input = h('input', { id: 'key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const out = h('div', { 'aria-live': 'polite' }, message || null);
  const form = h('form', { class: 'signin card', onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    try {
      const me = await api('GET', '/v1/me', undefined, input.value.trim());
      session.set(input.value.trim(), me);
      location.hash = `#/${home()}`;
      route();
    } catch (e) {
      out.replaceChildren(e.status === 401 ? notice('error', t('signin.bad')) : errorNotice(e));
      input.focus();
    }
  } },
  h('h1', { text: t('signin.title') }),
  h('p', { text: t('signin.intro') }),
  h('label', { for: 'key', text: t('signin.key') }), input,
  h('button', { type: 'submit', id: 'signin', text: t('signin.go') }), out);
  main.replaceChildren(form);
  input.focus();
}

// Each route() call draws one address. A page whose data arrives after the
// reader has moved on is dropped, so a slow page never covers a newer one;
// main's data-shown names the address whose page is on screen.
let drawing = 0;

async function route() {
  const mine = ++drawing;
  const shown = location.hash;
  releaseCharts();
  if (!session.key || !session.me) return signIn();
  const [, name = '', ...args] = shown.replace(/^#/, '').split('/').map(decodeURIComponent);
  if (!name || !PAGES[name]) {
    location.replace(`#/${home()}`);
    return;
  }
  drawNav(name);
  main.removeAttribute('data-shown');
  if (!allowed(name)) {
    main.replaceChildren(h('h1', { text: t(`nav.${name}`) }), notice('error', t('error.role', { role: t(`role.${role()}`) })));
    main.dataset.shown = shown;
    return;
  }
  main.replaceChildren(h('p', { class: 'loading', text: t('common.loading') }));
  let page;
  try {
    page = await PAGES[name].render(args.filter(Boolean), route);
  } catch (e) {
    page = [h('h1', { text: t(`nav.${name}`) }), errorNotice(e)];
  }
  if (mine !== drawing) return;
  if (page) main.replaceChildren(...[page].flat(Infinity).filter((x) => x != null && x !== false));
  main.dataset.shown = shown;
  main.focus({ preventScroll: true });
}

async function start() {
  await load(chosen());
  translate(document);
  const sel = document.getElementById('lang');
  sel.replaceChildren(...LANGS.map((l) => h('option', { value: l, text: t(`lang.${l}`) })));
  sel.value = current();
  sel.addEventListener('change', async () => {
    await load(sel.value);
    translate(document);
    for (const o of sel.options) o.textContent = t(`lang.${o.value}`);
    route();
  });
  document.getElementById('signout').addEventListener('click', () => {
    session.clear();
    location.hash = '';
    signIn();
  });
  // the skip link moves the focus, not the address (which names the page)
  document.querySelector('.skip').addEventListener('click', (ev) => { ev.preventDefault(); main.focus(); });
  const menu = document.querySelector('.menu');
  menu.addEventListener('click', () => {
    const open = menu.getAttribute('aria-expanded') !== 'true';
    menu.setAttribute('aria-expanded', String(open));
    nav.classList.toggle('open', open);
  });
  nav.addEventListener('click', () => { nav.classList.remove('open'); menu.setAttribute('aria-expanded', 'false'); });
  whenUnauthorized(() => { session.clear(); signIn(notice('error', t('signin.expired'))); });
  window.addEventListener('hashchange', route);
  route();
}

start();
