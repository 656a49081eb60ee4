// The datastore list: status, engine and version, nodes and roles, flavor,
// disk use and age, with a search box and filters, refreshed while
// anything changes.

import { h, icon, replace } from '../dom.js';
import { get } from '../api.js';
import { catalog, flavorText } from '../catalog.js';
import { ago, bytes, engineLabel, ENGINES, isBusy, when } from '../format.js';
import { go } from '../nav.js';
import { badge, empty, input, select, table } from '../ui.js';

/** engineCell shows an engine's mark, name and version. */
export function engineCell(type) {
  if (!type) return h('span', { class: 'muted' }, '—');
  return h('span', { class: 'engine' },
    h('span', { class: 'engine-dot ' + type.engine, 'aria-hidden': 'true' }, ENGINES[type.engine]?.short || '?'),
    h('span', null, engineLabel(type.engine), ' ', h('span', { class: 'muted' }, type.version)));
}

/** nodesText summarizes roles: "1 primary · 2 replicas". */
export function nodesText(ds) {
  const inst = (ds.instances || []).filter((i) => i.status !== 'PENDING_DELETE' || ds.status === 'PENDING_DELETE');
  const masters = inst.filter((i) => i.role === 'MASTER').length;
  const replicas = inst.filter((i) => i.role === 'REPLICA').length;
  const other = inst.length - masters - replicas;
  const parts = [];
  if (masters) parts.push(`${masters} primary`);
  if (replicas) parts.push(`${replicas} ${replicas === 1 ? 'replica' : 'replicas'}`);
  if (other) parts.push(`${other} other`);
  return parts.join(' · ') || `${ds.node_count} nodes`;
}

export async function datastoresView(ctx) {
  const state = { q: '', engine: '', status: '', list: null };
  const create = h('a', { class: 'button primary', href: '#/datastores/new' }, icon('plus'), 'Create datastore');
  const count = h('span', { class: 'muted' });
  const search = input({ type: 'search', placeholder: 'Search by name or ID', 'aria-label': 'Search datastores' });
  const engineSel = select([{ value: '', label: 'All engines' }], { 'aria-label': 'Engine' });
  const statusSel = select([
    { value: '', label: 'Any status' }, { value: 'ACTIVE', label: 'Active' }, { value: 'busy', label: 'Changing' },
    { value: 'problem', label: 'Needs attention' },
  ], { 'aria-label': 'Status' });
  const body = h('div');
  const list = h('section', { class: 'panel', 'aria-label': 'Datastores' },
    h('div', { class: 'toolbar' }, search, engineSel, statusSel, h('span', { class: 'grow' }), count), body);
  replace(ctx.root,
    h('div', { class: 'page-head' }, h('div', { class: 'titles' }, h('h1', null, 'Datastores'),
      h('div', { class: 'sub' }, 'Database clusters of this project')), create),
    list);

  // The catalog and the list are read at once.
  const listed = get('/datastores');
  listed.catch(() => {});
  const cat = await catalog();
  engineSel.replaceChildren(h('option', { value: '' }, 'All engines'),
    ...[...new Set(cat.types.map((t) => t.engine))].map((e) => h('option', { value: e }, engineLabel(e))));

  const columns = [
    { label: 'Name', cell: (d) => [h('a', { class: 'name', href: `#/datastores/${d.id}` }, d.name), h('div', { class: 'sub mono hide-sm' }, d.id)] },
    { label: 'Engine', cell: (d) => engineCell(cat.typeById.get(d.type_id)) },
    { label: 'Status', cell: (d) => badge(d.status) },
    { label: 'Nodes', class: 'hide-sm', cell: (d) => [h('div', { class: 'nowrap' }, nodesText(d)), h('div', { class: 'sub' }, (d.instances || []).filter((i) => i.status !== 'ACTIVE').length ? 'some nodes not active' : '')] },
    { label: 'Flavor', class: 'hide-sm', cell: (d) => h('span', { class: 'small' }, flavorText(d.flavor)) },
    { label: 'Disk used', class: 'num hide-sm', cell: (d) => bytes(d.disk_used) },
    { label: 'Created', class: 'hide-sm', cell: (d) => h('span', { title: when(d.created_at) }, ago(d.created_at)) },
  ];

  function render() {
    if (state.list === null) {
      replace(body, table(columns, null, { skeleton: 4 }));
      return;
    }
    const q = state.q.trim().toLowerCase();
    const rows = state.list.filter((d) => {
      const t = cat.typeById.get(d.type_id);
      if (state.engine && (!t || t.engine !== state.engine)) return false;
      if (state.status === 'ACTIVE' && d.status !== 'ACTIVE') return false;
      if (state.status === 'busy' && !isBusy(d.status)) return false;
      if (state.status === 'problem' && (d.status === 'ACTIVE' || isBusy(d.status))) return false;
      return !q || d.name.toLowerCase().includes(q) || d.id.includes(q);
    });
    count.textContent = state.list.length === rows.length ? `${rows.length} datastore${rows.length === 1 ? '' : 's'}` : `${rows.length} of ${state.list.length}`;
    const none = state.list.length === 0
      ? empty('No datastores yet', 'A datastore is a database cluster: PostgreSQL, MySQL, Redis or Kafka. Create one to get its address and credentials.',
        h('a', { class: 'button primary', href: '#/datastores/new' }, icon('plus'), 'Create datastore'))
      : empty('No datastore matches', 'Change the search or the filters.', null, 'search');
    replace(body, table(columns, rows, {
      empty: none, onrow: (d) => go(`/datastores/${d.id}`),
      rowData: (d) => ({ id: d.id, name: d.name, status: d.status }),
    }));
  }
  search.addEventListener('input', () => { state.q = search.value; render(); });
  engineSel.addEventListener('change', () => { state.engine = engineSel.value; render(); });
  statusSel.addEventListener('change', () => { state.status = statusSel.value; render(); });
  render();

  let first = true;
  await ctx.every(() => (state.list || []).some((d) => isBusy(d.status)) ? 1500 : 8000, async () => {
    const r = first ? await listed : await get('/datastores');
    first = false;
    state.list = (r.datastores || []).sort((a, b) => (b.created_at || '').localeCompare(a.created_at || ''));
    if (ctx.alive) {
      render();
      ctx.ready();
    }
  }).first;
}
