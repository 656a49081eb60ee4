// Databases and grants: create a database (owner and collation on
// PostgreSQL), change its owner, delete it; grant a user access to a
// database and revoke it.

import { h, replace } from '../dom.js';
import { del, get, post, put, query } from '../api.js';
import { ago, when } from '../format.js';
import { badge, button, confirmDelete, dialog, empty, field, input, panel, select, table, toast } from '../ui.js';
import { byId, liveObjects } from './common.js';

export async function databasesTab(t) {
  const pg = t.engine === 'postgresql';
  const dbBox = h('div');
  const grantBox = h('div');
  let users = [];
  let dbs = [];
  const loadUsers = async () => { users = (await get('/users' + query({ datastore_id: t.id }))).users || []; };

  replace(t.root,
    panel('Databases', { flush: true, actions: button('Add database', { kind: 'primary', icon: 'plus', onclick: () => create() }) }, dbBox),
    panel('Grants', { flush: true, hint: 'which users may use which databases', actions: button('Grant access', { icon: 'plus', onclick: () => grant() }) }, grantBox));

  async function create() {
    await loadUsers();
    const name = input({ name: 'name', required: true, placeholder: 'appdb' });
    const body = [field('Name', name, { names: ['database.name', 'name'] })];
    let owner, collate, ctype;
    if (pg) {
      owner = select(users.map((u) => ({ value: u.id, label: u.name })).concat(users.length ? [] : [{ value: '', label: 'add a user first' }]), { name: 'owner' });
      collate = input({ name: 'lc_collate', placeholder: 'C.UTF-8' });
      ctype = input({ name: 'lc_ctype', placeholder: 'C.UTF-8' });
      body.push(field('Owner', owner, { names: ['database.owner_id', 'owner_id'] }),
        h('div', { class: 'form-row' },
          field('Collation', collate, { names: ['database.lc_collate', 'lc_collate'], help: 'Optional' }),
          field('Character type', ctype, { names: ['database.lc_ctype', 'lc_ctype'], help: 'Optional' })));
    }
    const ok = await dialog({
      title: 'Add a database', submitLabel: 'Add database', body: h('div', { class: 'form' }, body),
      submit: () => {
        const d = { datastore_id: t.id, name: name.value.trim() };
        if (pg) {
          if (owner.value) d.owner_id = owner.value;
          if (collate.value.trim()) d.lc_collate = collate.value.trim();
          if (ctype.value.trim()) d.lc_ctype = ctype.value.trim();
        }
        return post('/databases', { database: d });
      },
    });
    if (ok) { toast(`Database ${ok.database.name} is being created`); dbLive.now(); }
  }

  async function changeOwner(d) {
    await loadUsers();
    const owner = select(users.map((u) => ({ value: u.id, label: u.name })), { name: 'owner', value: d.owner_id });
    const ok = await dialog({
      title: `Owner of ${d.name}`, submitLabel: 'Change owner', body: h('div', { class: 'form' }, field('Owner', owner, { names: ['database.owner_id', 'owner_id'] })),
      submit: () => put('/databases/' + d.id, { database: { owner_id: owner.value } }),
    });
    if (ok) dbLive.now();
  }

  async function grant() {
    await loadUsers();
    const user = select(users.map((u) => ({ value: u.id, label: u.name })), { name: 'user' });
    const db = select(dbs.map((x) => ({ value: x.id, label: x.name })), { name: 'database' });
    const ok = await dialog({
      title: 'Grant access', submitLabel: 'Grant',
      body: h('div', { class: 'form' },
        (!users.length || !dbs.length) ? h('div', { class: 'notice' }, 'Add a user and a database first.') : null,
        field('User', user, { names: ['grant.user_id', 'user_id'] }), field('Database', db, { names: ['grant.database_id', 'database_id'] })),
      submit: () => post('/grants', { grant: { datastore_id: t.id, user_id: user.value, database_id: db.value } }),
    });
    if (ok) grantLive.now();
  }

  const dbCols = [
    { label: 'Name', cell: (d) => h('span', { class: 'name' }, d.name) },
    ...(pg ? [{ label: 'Owner', cell: (d) => byId(users).get(d.owner_id)?.name || '—' },
      { label: 'Collation', class: 'hide-sm', cell: (d) => h('span', { class: 'mono small' }, [d.lc_collate, d.lc_ctype].filter(Boolean).join(' / ') || '—') }] : []),
    { label: 'Status', cell: (d) => badge(d.status) },
    { label: 'Created', class: 'hide-sm', cell: (d) => h('span', { title: when(d.created_at) }, ago(d.created_at)) },
    {
      label: '', class: 'actions', cell: (d) => [
        pg ? button('Owner', { small: true, onclick: () => changeOwner(d), disabled: d.status !== 'ACTIVE', ariaLabel: `Change the owner of ${d.name}` }) : null,
        button('Delete', {
          small: true, kind: 'danger', ariaLabel: `Delete ${d.name}`, disabled: d.status === 'PENDING_DELETE',
          onclick: () => confirmDelete({
            title: `Delete database ${d.name}?`, text: 'The database and all its data are dropped. This cannot be undone.', typeName: d.name,
            run: async () => { await del('/databases/' + d.id); dbLive.now(); },
          }),
        }),
      ],
    },
  ];
  const grantCols = [
    { label: 'User', cell: (g) => h('span', { class: 'name' }, byId(users).get(g.user_id)?.name || g.user_id) },
    { label: 'Database', cell: (g) => byId(dbs).get(g.database_id)?.name || g.database_id },
    { label: 'Status', cell: (g) => badge(g.status) },
    {
      label: '', class: 'actions', cell: (g) => button('Revoke', {
        small: true, kind: 'danger', disabled: g.status === 'PENDING_DELETE',
        onclick: () => confirmDelete({
          title: 'Revoke access?', text: `${byId(users).get(g.user_id)?.name || 'The user'} loses access to ${byId(dbs).get(g.database_id)?.name || 'the database'}.`, action: 'Revoke',
          run: async () => { await del('/grants/' + g.id); grantLive.now(); },
        }),
      }),
    },
  ];
  replace(dbBox, table(dbCols, null));
  replace(grantBox, table(grantCols, null, { skeleton: 2 }));
  await loadUsers();
  const dbLive = liveObjects(t, '/databases', 'databases', (items) => {
    dbs = items;
    replace(dbBox, table(dbCols, items, {
      rowData: (d) => ({ name: d.name, status: d.status }),
      empty: empty('No databases yet', 'Add a database for your application.', button('Add database', { kind: 'primary', icon: 'plus', onclick: () => create() })),
    }));
  });
  await dbLive.first;
  const grantLive = liveObjects(t, '/grants', 'grants', async (items) => {
    await loadUsers();
    replace(grantBox, table(grantCols, items, {
      empty: empty('No grants', pg ? 'An owner may always use its database; grant other users access here.' : 'Grant a user access to a database.', null, 'key'),
    }));
  });
  await grantLive.first;
}
