// Kafka topics (create, add partitions, delete) and ACLs (who may read or
// write which topics).

import { h, replace } from '../dom.js';
import { del, get, post, put, query } from '../api.js';
import { ago, when } from '../format.js';
import { badge, button, confirmDelete, dialog, empty, field, input, panel, select, table, toast } from '../ui.js';
import { byId, liveObjects } from './common.js';

export async function kafkaTab(t) {
  const topicBox = h('div');
  const aclBox = h('div');
  let users = [];
  const loadUsers = async () => { users = (await get('/users' + query({ datastore_id: t.id }))).users || []; };

  replace(t.root,
    panel('Topics', { flush: true, actions: button('Add topic', { kind: 'primary', icon: 'plus', onclick: () => createTopic() }) }, topicBox),
    panel('ACLs', { flush: true, hint: 'users see only the topics an ACL lets them read or write', actions: button('Add ACL', { icon: 'plus', onclick: () => editAcl() }) }, aclBox));

  async function createTopic() {
    const name = input({ name: 'name', required: true, placeholder: 'orders.events' });
    const parts = input({ type: 'number', name: 'partitions', value: '3', min: '1', max: '4000' });
    const ok = await dialog({
      title: 'Add a topic', submitLabel: 'Add topic',
      body: h('div', { class: 'form' },
        field('Name', name, { names: ['topic.name', 'name'], help: 'Letters, digits, . _ and -.' }),
        field('Partitions', parts, { names: ['topic.partitions', 'partitions'] })),
      submit: () => post('/topics', { topic: { datastore_id: t.id, name: name.value.trim(), partitions: Number(parts.value) } }),
    });
    if (ok) { toast(`Topic ${ok.topic.name} is being created`); topicLive.now(); }
  }

  async function grow(tp) {
    const parts = input({ type: 'number', name: 'partitions', value: String(tp.partitions), min: String(tp.partitions), max: '4000' });
    const ok = await dialog({
      title: `Partitions of ${tp.name}`, submitLabel: 'Save',
      body: h('div', { class: 'form' }, field('Partitions', parts, { names: ['topic.partitions', 'partitions'], help: `Now ${tp.partitions}; partitions can be added, never removed.` })),
      submit: () => put('/topics/' + tp.id, { topic: { partitions: Number(parts.value) } }),
    });
    if (ok) topicLive.now();
  }

  async function editAcl(acl) {
    await loadUsers();
    const user = select(users.map((u) => ({ value: u.id, label: u.name })), { name: 'user', disabled: !!acl });
    const ptype = select([{ value: 'literal', label: 'Topic (exact name)' }, { value: 'prefixed', label: 'Topics starting with' }, { value: 'all', label: 'All topics' }], { name: 'pattern_type', disabled: !!acl });
    const pattern = input({ name: 'pattern', placeholder: 'orders.' });
    const read = h('input', { type: 'checkbox', name: 'allow_read', checked: acl ? acl.allow_read : true });
    const write = h('input', { type: 'checkbox', name: 'allow_write', checked: acl ? acl.allow_write : false });
    const patternField = field('Pattern', pattern, { names: ['acl.pattern', 'pattern'] });
    if (acl) { user.value = acl.user_id; ptype.value = acl.pattern_type; pattern.value = acl.pattern || ''; pattern.disabled = true; }
    const sync = () => { patternField.hidden = ptype.value === 'all'; };
    ptype.addEventListener('change', sync);
    sync();
    const ok = await dialog({
      title: acl ? 'Change ACL' : 'Add an ACL', submitLabel: acl ? 'Save' : 'Add ACL',
      body: h('div', { class: 'form' },
        users.length ? null : h('div', { class: 'notice' }, 'Add a user on the Users tab first.'),
        field('User', user, { names: ['acl.user_id', 'user_id'] }),
        field('Applies to', ptype, { names: ['acl.pattern_type', 'pattern_type'] }),
        patternField,
        h('div', { class: 'field' }, h('div', { class: 'label' }, 'Allow'),
          h('label', { class: 'check' }, read, 'Read (consume)'), h('label', { class: 'check' }, write, 'Write (produce)'))),
      submit: () => {
        if (acl) return put('/acls/' + acl.id, { acl: { allow_read: read.checked, allow_write: write.checked } });
        const a = { datastore_id: t.id, user_id: user.value, pattern_type: ptype.value, allow_read: read.checked, allow_write: write.checked };
        if (ptype.value !== 'all') a.pattern = pattern.value.trim();
        return post('/acls', { acl: a });
      },
    });
    if (ok) aclLive.now();
  }

  const topicCols = [
    { label: 'Name', cell: (tp) => h('span', { class: 'name' }, tp.name) },
    { label: 'Partitions', class: 'num', cell: (tp) => String(tp.partitions) },
    { label: 'Status', cell: (tp) => badge(tp.status) },
    { label: 'Created', class: 'hide-sm', cell: (tp) => h('span', { title: when(tp.created_at) }, ago(tp.created_at)) },
    {
      label: '', class: 'actions', cell: (tp) => [
        button('Partitions', { small: true, onclick: () => grow(tp), disabled: tp.status !== 'ACTIVE', ariaLabel: `Add partitions to ${tp.name}` }),
        button('Delete', {
          small: true, kind: 'danger', disabled: tp.status === 'PENDING_DELETE', ariaLabel: `Delete ${tp.name}`,
          onclick: () => confirmDelete({
            title: `Delete topic ${tp.name}?`, text: 'Its records are deleted.', typeName: tp.name,
            run: async () => { await del('/topics/' + tp.id); topicLive.now(); },
          }),
        }),
      ],
    },
  ];
  const aclCols = [
    { label: 'User', cell: (a) => h('span', { class: 'name' }, byId(users).get(a.user_id)?.name || a.user_id) },
    { label: 'Topics', cell: (a) => (a.pattern_type === 'all' ? 'all topics' : [h('span', { class: 'tag' }, a.pattern_type === 'prefixed' ? 'prefix' : 'topic'), ' ', h('span', { class: 'mono' }, a.pattern || '')]) },
    { label: 'Read', cell: (a) => (a.allow_read ? 'yes' : 'no') },
    { label: 'Write', cell: (a) => (a.allow_write ? 'yes' : 'no') },
    { label: 'Status', cell: (a) => badge(a.status) },
    {
      label: '', class: 'actions', cell: (a) => [
        button('Change', { small: true, onclick: () => editAcl(a), disabled: a.status !== 'ACTIVE' }),
        button('Delete', {
          small: true, kind: 'danger', disabled: a.status === 'PENDING_DELETE',
          onclick: () => confirmDelete({ title: 'Delete this ACL?', text: 'The user loses the access it gave.', run: async () => { await del('/acls/' + a.id); aclLive.now(); } }),
        }),
      ],
    },
  ];
  replace(topicBox, table(topicCols, null));
  replace(aclBox, table(aclCols, null, { skeleton: 2 }));
  await loadUsers();
  const topicLive = liveObjects(t, '/topics', 'topics', (items) => {
    replace(topicBox, table(topicCols, items, {
      rowData: (tp) => ({ name: tp.name, status: tp.status }),
      empty: empty('No topics yet', 'A topic is a stream of records that producers write and consumers read.', button('Add topic', { kind: 'primary', icon: 'plus', onclick: () => createTopic() }), 'list'),
    }));
  });
  const aclLive = liveObjects(t, '/acls', 'acls', async (items) => {
    await loadUsers();
    replace(aclBox, table(aclCols, items, {
      empty: empty('No ACLs', 'Without an ACL a user can reach no topic.', null, 'lock'),
    }));
  });
  await Promise.all([topicLive.first, aclLive.first]);
}
