// A datastore's page: its header (name, status, engine) and tabs for
// everything the API does with it. The datastore is re-read every few
// seconds (every second and a half while it changes) and each tab is told.

import { h, icon, replace } from '../dom.js';
import { get } from '../api.js';
import { catalog } from '../catalog.js';
import { ago, isBusy, when } from '../format.js';
import { pendingFirewall, watch } from '../pending.js';
import { badge, copyButton, empty } from '../ui.js';
import { engineCell } from './datastores.js';

/** What each engine has, as the API describes its objects. */
export const CAPS = {
  postgresql: { users: true, databases: true, extensions: true, slots: true, pooler: true, backups: true },
  mysql: { users: true, databases: true, backups: true },
  mysql_native: { users: true, databases: true, backups: true },
  redis: { password: true, backups: true },
  kafka: { users: true, topics: true },
};

// Each tab's module is loaded when the tab is first shown.
const pick = (name) => (m) => m[name];

const TABS = [
  ['overview', 'Overview', () => true, () => import('../tabs/overview.js').then(pick('overviewTab'))],
  ['users', 'Users', (c) => c.users, () => import('../tabs/users.js').then(pick('usersTab'))],
  ['databases', 'Databases', (c) => c.databases, () => import('../tabs/databases.js').then(pick('databasesTab'))],
  ['extensions', 'Extensions', (c) => c.extensions, () => import('../tabs/extensions.js').then(pick('extensionsTab'))],
  ['slots', 'Replication slots', (c) => c.slots, () => import('../tabs/slots.js').then(pick('slotsTab'))],
  ['topics', 'Topics & ACLs', (c) => c.topics, () => import('../tabs/kafka.js').then(pick('kafkaTab'))],
  ['config', 'Configuration', () => true, () => import('../tabs/config.js').then(pick('configTab'))],
  ['network', 'Network', () => true, () => import('../tabs/network.js').then(pick('networkTab'))],
  ['backups', 'Backups', (c) => c.backups, () => import('../tabs/backups.js').then(pick('backupsTab'))],
  ['metrics', 'Metrics', () => true, () => import('../tabs/metrics.js').then(pick('metricsTab'))],
  ['logs', 'Logs', () => true, () => import('../tabs/logs.js').then(pick('logsTab'))],
  ['actions', 'Actions', () => true, () => import('../tabs/actions.js').then(pick('actionsTab'))],
  ['settings', 'Settings', () => true, () => import('../tabs/settings.js').then(pick('settingsTab'))],
];

export async function datastoreView(ctx, id, tab = 'overview') {
  const cat = await catalog();
  let ds;
  try {
    ds = (await get('/datastores/' + id)).datastore;
  } catch (e) {
    if (e.status !== 404) throw e;
    replace(ctx.root, empty('This datastore does not exist', 'It may have been deleted.', h('a', { class: 'button', href: '#/datastores' }, 'All datastores')));
    ctx.ready();
    return;
  }
  const type = cat.typeById.get(ds.type_id) || { engine: '', version: '' };
  const caps = CAPS[type.engine] || {};
  const tabs = TABS.filter(([, , has]) => has(caps));
  if (!tabs.some(([k]) => k === tab)) tab = 'overview';

  const title = h('h1');
  const status = h('span');
  const since = h('span', { class: 'muted small' });
  const banner = h('div');
  const head = h('div', { class: 'page-head' },
    h('div', { class: 'titles' },
      h('div', { class: 'crumbs' }, h('a', { href: '#/datastores' }, 'Datastores'), ' / '),
      title,
      h('div', { class: 'sub' }, status, engineCell(type), h('span', { class: 'mono small' }, id), copyButton(id, 'Copy ID'), since)));
  const nav = h('nav', { class: 'tabs', 'aria-label': 'Datastore sections' },
    tabs.map(([k, label]) => h('a', { href: `#/datastores/${id}/${k}`, 'aria-current': k === tab ? 'page' : null }, label)));
  const body = h('div', { class: 'tab-body' });
  replace(ctx.root, head, banner, nav, body);

  const listeners = [];
  const t = {
    ctx, id, type, engine: type.engine, caps, cat, root: body,
    get ds() { return ds; },
    /** onChange calls fn with the datastore now and whenever it is re-read. */
    onChange(fn) { listeners.push(fn); fn(ds); },
    /** reload re-reads the datastore at once (after a change). */
    async reload() { await refresh(); },
  };

  function paintHead() {
    title.textContent = ds.name;
    replace(status, badge(ds.status));
    since.textContent = ds.creation_finished_at ? `created ${ago(ds.created_at)}` : `requested ${ago(ds.created_at)}`;
    since.title = when(ds.created_at);
    const pend = pendingFirewall(ds.id);
    const notes = [];
    if (pend) notes.push(h('div', { class: 'notice' }, 'Firewall rules (', pend.join(', '), ') will be applied as soon as the datastore is active. Keep this tab open until then.'));
    if (ds.status === 'ERROR') notes.push(h('div', { class: 'form-error' }, 'The last change failed. The ', h('a', { href: `#/datastores/${id}/actions` }, 'actions'), ' say why; dbaasd retries by itself.'));
    if (ds.is_maintenance) notes.push(h('div', { class: 'warning' }, 'The datastore is in maintenance.'));
    replace(banner, notes.length ? h('div', { class: 'form', role: 'status' }, notes) : null);
    if (notes.length) banner.classList.add('banner'); else banner.classList.remove('banner');
  }

  async function refresh() {
    try {
      ds = (await get('/datastores/' + id)).datastore;
    } catch (e) {
      if (e.status === 404) {
        ds = { ...ds, status: 'DELETED' };
        paintHead();
        replace(body, empty('This datastore was deleted', '', h('a', { class: 'button', href: '#/datastores' }, icon('back'), 'All datastores')));
        ctx.dispose();
        return;
      }
      throw e;
    }
    paintHead();
    for (const fn of listeners) fn(ds);
  }

  paintHead();
  watch();
  const render = await TABS.find(([k]) => k === tab)[3]();
  if (!ctx.alive) return;
  await render(t);
  ctx.ready();
  ctx.every(() => (isBusy(ds.status) ? 1500 : 5000), refresh, { wait: true });
}
