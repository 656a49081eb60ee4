// Logical replication slots (PostgreSQL): create, watch their WAL, drop.

import { h, replace } from '../dom.js';
import { del, get, post, query } from '../api.js';
import { bytes, when } from '../format.js';
import { badge, button, confirmDelete, dialog, empty, field, input, panel, select, table, toast } from '../ui.js';
import { byId, liveObjects } from './common.js';

export async function slotsTab(t) {
  const box = h('div');
  let dbs = [];
  const loadDbs = async () => { dbs = (await get('/databases' + query({ datastore_id: t.id }))).databases || []; };
  replace(t.root,
    h('div', { class: 'warning banner' }, 'A slot keeps WAL until a consumer reads it: an unused slot makes the disk grow. Drop slots you no longer read.'),
    panel('Logical replication slots', { flush: true, actions: button('Add slot', { kind: 'primary', icon: 'plus', onclick: () => create() }) }, box));

  async function create() {
    await loadDbs();
    const name = input({ name: 'name', required: true, placeholder: 'cdc_slot', pattern: '[a-z0-9_]+' });
    const db = select(dbs.map((d) => ({ value: d.id, label: d.name })), { name: 'database' });
    const ok = await dialog({
      title: 'Add a logical replication slot', submitLabel: 'Add slot',
      body: h('div', { class: 'form' },
        dbs.length ? null : h('div', { class: 'notice' }, 'Add a database first.'),
        field('Name', name, { names: ['logical-replication-slot.name', 'name'], help: 'Lower-case letters, digits and _.' }),
        field('Database', db, { names: ['logical-replication-slot.database_id', 'database_id'] })),
      submit: () => post('/logical-replication-slots', { 'logical-replication-slot': { datastore_id: t.id, database_id: db.value, name: name.value.trim() } }),
    });
    if (ok) { toast(`Slot ${ok['logical-replication-slot'].name} is being created`); live.now(); }
  }

  const cols = [
    { label: 'Name', cell: (s) => h('span', { class: 'name mono' }, s.name) },
    { label: 'Database', cell: (s) => byId(dbs).get(s.database_id)?.name || s.database_id },
    { label: 'In use', cell: (s) => (s.in_use ? h('span', { class: 'badge ok plain' }, 'in use') : h('span', { class: 'badge plain' }, 'idle')) },
    { label: 'WAL kept', class: 'num', cell: (s) => bytes(s.size) },
    { label: 'Status', cell: (s) => badge(s.status) },
    { label: 'Created', class: 'hide-sm', cell: (s) => when(s.created_at) },
    {
      label: '', class: 'actions', cell: (s) => button('Drop', {
        small: true, kind: 'danger', disabled: s.status === 'PENDING_DELETE',
        onclick: () => confirmDelete({
          title: `Drop slot ${s.name}?`, text: 'A consumer reading from it loses its position.', action: 'Drop',
          run: async () => { await del('/logical-replication-slots/' + s.id); live.now(); },
        }),
      }),
    },
  ];
  replace(box, table(cols, null, { skeleton: 2 }));
  await loadDbs();
  const live = liveObjects(t, '/logical-replication-slots', 'logical-replication-slots', (items) => {
    replace(box, table(cols, items, {
      empty: empty('No replication slots', 'A logical replication slot lets a consumer (Debezium, pg_recvlogical, a subscriber) stream the changes of a database.', null, 'list'),
    }));
  });
  await live.first;
}
