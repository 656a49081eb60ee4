// The console's entry point: the page shell, the router (routes live in the
// URL's fragment, #/datastores/ID/users, and never hold the token) and each
// view's lifetime (its polling stops when the person leaves it).

import { h, replace } from './dom.js';
import { session, logout, whenSignedOut } from './api.js';
import { button, toast } from './ui.js';
import { go } from './nav.js';
import { watch } from './pending.js';

// The two first pages (sign in, the list) come with this module; the other
// views are loaded when first shown.
import { signinView } from './views/signin.js';
import { datastoresView } from './views/datastores.js';

const pick = (name) => (m) => m[name];
const now = (fn) => () => Promise.resolve(fn);

/** Ctx is one view's lifetime: its timers stop and its cleanups run when it is left. */
class Ctx {
  constructor(root) {
    this.root = root;
    this.alive = true;
    this.cleanups = [];
  }

  /**
   * every runs fn now (or after the first wait, with {wait: true}) and then every
   * ms (a number or a function returning one) while the view is shown and the tab
   * visible. It returns {now()}, which runs fn at once (after a change).
   */
  every(ms, fn, opts = {}) {
    let timer = null;
    let running = null;
    const schedule = () => {
      if (timer) clearTimeout(timer);
      timer = this.alive ? setTimeout(loop, typeof ms === 'function' ? ms() : ms) : null;
    };
    const loop = async () => {
      timer = null;
      if (!this.alive) return;
      if (document.hidden) {
        const wake = () => { document.removeEventListener('visibilitychange', wake); loop(); };
        document.addEventListener('visibilitychange', wake);
        this.cleanups.push(() => document.removeEventListener('visibilitychange', wake));
        return;
      }
      running = (async () => {
        try { await fn(); } catch (e) { if (this.alive && e.status !== 401) console.warn(e); }
      })();
      await running;
      running = null;
      schedule();
    };
    this.cleanups.push(() => { if (timer) clearTimeout(timer); });
    const first = opts.wait ? (schedule(), Promise.resolve()) : loop();
    return {
      first,
      async now() {
        if (running) await running;
        if (timer) clearTimeout(timer);
        timer = null;
        await loop();
      },
    };
  }

  onDispose(fn) { this.cleanups.push(fn); }

  /** ready marks the first view shown with its data (measured by the browser tests and make bench). */
  ready() {
    this.root.dataset.viewReady = '1';
    if (!document.documentElement.dataset.ready) {
      performance.mark('console-ready');
      document.documentElement.dataset.ready = String(Math.round(performance.now()));
    }
  }

  dispose() {
    this.alive = false;
    for (const fn of this.cleanups.splice(0)) fn();
  }
}

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const shell = document.getElementById('shell');
let current = null;
let signedOutMessage = '';

const routes = [
  [/^\/signin$/, now(signinView), null],
  [/^\/datastores$/, now(datastoresView), 'datastores'],
  [/^\/datastores\/new$/, () => import('./views/create.js').then(pick('createView')), 'datastores'],
  [/^\/datastores\/([0-9a-f-]{36})(?:\/([a-z-]+))?$/, () => import('./views/datastore.js').then(pick('datastoreView')), 'datastores'],
  [/^\/tokens$/, () => import('./views/tokens.js').then(pick('tokensView')), 'tokens'],
  [/^\/quotas$/, () => import('./views/quotas.js').then(pick('quotasView')), 'quotas'],
];

const NAV = [
  ['datastores', 'Datastores', '#/datastores'],
  ['tokens', 'Metrics tokens', '#/tokens'],
  ['quotas', 'Quotas', '#/quotas'],
];

function renderShell(section) {
  const s = session.get();
  if (!s) {
    shell.dataset.signedOut = '';
    replace(nav);
    replace(who);
    return;
  }
  delete shell.dataset.signedOut;
  replace(nav, NAV.map(([key, label, href]) => h('a', { href, 'aria-current': key === section ? 'page' : null }, label)));
  replace(who,
    h('span', { class: 'id', title: s.project ? 'Project ' + s.project : '' }, s.user, s.project ? ' · ' + s.project.slice(0, 8) : ''),
    button('Sign out', {
      small: true, onclick: async () => {
        await logout();
        go('/signin');
      },
    }));
}

function route() {
  let path = location.hash.replace(/^#/, '') || '/datastores';
  const s = session.get();
  if (!s && path !== '/signin') {
    sessionStorage.setItem('dbaasd.console.next', path);
    path = '/signin';
    history.replaceState(null, '', '#/signin');
  }
  if (s && path === '/signin') {
    path = '/datastores';
    history.replaceState(null, '', '#/datastores');
  }
  let match = null;
  for (const [re, view, section] of routes) {
    const m = re.exec(path);
    if (m) { match = { view, section, params: m.slice(1) }; break; }
  }
  if (current) current.dispose();
  const root = h('div', { class: 'page' });
  replace(main, root);
  current = new Ctx(root);
  if (!match) {
    renderShell(null);
    replace(root, h('h1', null, 'Page not found'), h('p', null, h('a', { href: '#/datastores' }, 'Go to the datastores')));
    current.ready();
    return;
  }
  renderShell(match.section);
  const msg = signedOutMessage;
  signedOutMessage = '';
  const ctx = current;
  match.view().then((fn) => (ctx.alive ? fn(ctx, ...match.params, msg) : null)).catch((e) => {
    if (e && e.status === 401) return;
    if (!ctx.alive) return;
    replace(root, h('div', { class: 'form-error', role: 'alert' }, 'Something went wrong: ', e.message || String(e)));
    ctx.ready();
  });
}

whenSignedOut((message) => {
  signedOutMessage = message;
  toast(message, 'bad');
  go('/signin');
});

window.addEventListener('hashchange', route);
route();
watch();
