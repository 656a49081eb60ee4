// Extensions: install one of the available extensions in a database (the
// extensions it depends on come with it) and remove it.

import { h, replace } from '../dom.js';
import { del, get, post, query } from '../api.js';
import { badge, button, confirmDelete, dialog, empty, field, input, panel, select, table, toast } from '../ui.js';
import { byId, liveObjects } from './common.js';

export async function extensionsTab(t) {
  const box = h('div');
  const [avail, dbr] = await Promise.all([
    get('/available-extensions'),
    get('/databases' + query({ datastore_id: t.id })),
  ]);
  const available = (avail['available-extensions'] || []).filter((a) => !a.datastore_type_ids?.length || a.datastore_type_ids.includes(t.ds.type_id))
    .sort((a, b) => a.name.localeCompare(b.name));
  const availById = byId(avail['available-extensions']);
  let dbs = dbr.databases || [];
  const deps = (a, seen = new Set()) => {
    for (const d of a.dependency_ids || []) {
      const x = availById.get(d);
      if (x && !seen.has(x.name)) { seen.add(x.name); deps(x, seen); }
    }
    return [...seen];
  };

  replace(t.root, panel('Extensions', { flush: true, hint: `${available.length} available`, actions: button('Install extension', { kind: 'primary', icon: 'plus', onclick: () => install() }) }, box));

  async function install() {
    dbs = (await get('/databases' + query({ datastore_id: t.id }))).databases || [];
    const filter = input({ type: 'search', placeholder: 'Filter extensions', 'aria-label': 'Filter extensions' });
    const ext = select(available.map((a) => ({ value: a.id, label: a.name })), { name: 'extension', size: 8 });
    ext.classList.add('listbox');
    const db = select(dbs.map((d) => ({ value: d.id, label: d.name })), { name: 'database' });
    const depLine = h('div', { class: 'help', 'aria-live': 'polite' });
    const showDeps = () => {
      const a = availById.get(ext.value);
      const d = a ? deps(a) : [];
      depLine.textContent = d.length ? `Also installs what it needs: ${d.join(', ')}` : a ? 'No dependencies.' : '';
    };
    filter.addEventListener('input', () => {
      const q = filter.value.trim().toLowerCase();
      for (const o of ext.options) o.hidden = q && !o.textContent.toLowerCase().includes(q);
    });
    ext.addEventListener('change', showDeps);
    if (ext.options.length) { ext.selectedIndex = 0; showDeps(); }
    const f = field('Extension', ext, { names: ['extension.available_extension_id', 'available_extension_id'] });
    f.insertBefore(filter, ext);
    f.append(depLine);
    const ok = await dialog({
      title: 'Install an extension', submitLabel: 'Install',
      body: h('div', { class: 'form' },
        dbs.length ? null : h('div', { class: 'notice' }, 'Add a database first: extensions are installed in a database.'),
        field('Database', db, { names: ['extension.database_id', 'database_id'] }), f),
      submit: () => post('/extensions', { extension: { datastore_id: t.id, database_id: db.value, available_extension_id: ext.value } }),
    });
    if (ok) { toast(`${availById.get(ok.extension.available_extension_id)?.name || 'The extension'} is being installed`); live.now(); }
  }

  const cols = [
    { label: 'Extension', cell: (e) => h('span', { class: 'name' }, availById.get(e.available_extension_id)?.name || e.available_extension_id) },
    { label: 'Database', cell: (e) => byId(dbs).get(e.database_id)?.name || e.database_id },
    { label: 'Requires', class: 'hide-sm', cell: (e) => { const a = availById.get(e.available_extension_id); const d = a ? deps(a) : []; return d.length ? d.join(', ') : '—'; } },
    { label: 'Status', cell: (e) => badge(e.status) },
    {
      label: '', class: 'actions', cell: (e) => button('Remove', {
        small: true, kind: 'danger', disabled: e.status === 'PENDING_DELETE',
        onclick: () => confirmDelete({
          title: `Remove ${availById.get(e.available_extension_id)?.name || 'the extension'}?`, text: 'DROP EXTENSION runs in the database; objects that depend on it stop working.', action: 'Remove',
          run: async () => { await del('/extensions/' + e.id); live.now(); },
        }),
      }),
    },
  ];
  replace(box, table(cols, null, { skeleton: 2 }));
  const live = liveObjects(t, '/extensions', 'extensions', async (items) => {
    dbs = (await get('/databases' + query({ datastore_id: t.id }))).databases || dbs;
    replace(box, table(cols, items, {
      empty: empty('No extensions installed', 'Install one of the available extensions — pg_trgm, hstore, earthdistance… — in a database.', button('Install extension', { kind: 'primary', icon: 'plus', onclick: () => install() })),
    }));
  });
  await live.first;
}
