// Users: create (with a generated password to copy), change password, delete.

import { h, replace } from '../dom.js';
import { del, post, put } from '../api.js';
import { ago, when } from '../format.js';
import { badge, button, confirmDelete, copyButton, dialog, empty, field, input, panel, table, toast } from '../ui.js';
import { liveObjects, password } from './common.js';

/** passwordField is a password input with a generate button and a copy button. */
export function passwordField(label, names) {
  const pw = input({ type: 'text', name: 'password', autocomplete: 'new-password', class: 'mono' });
  const gen = button('Generate', { small: true, onclick: () => { pw.value = password(); } });
  const f = field(label, pw, { names, help: '8 to 128 characters. Copy it now: the API never shows it again.' });
  f.insertBefore(h('div', { class: 'conn-row' }, pw, gen, copyButton(() => pw.value)), f.querySelector('.help'));
  return { el: f, input: pw };
}

export async function usersTab(t) {
  const box = h('div');
  const add = button('Add user', { kind: 'primary', icon: 'plus', onclick: () => create() });
  replace(t.root, panel('Users', { flush: true, actions: add }, box));

  async function create() {
    const name = input({ name: 'name', required: true, placeholder: 'app_user' });
    const pw = passwordField('Password', ['user.password', 'password']);
    pw.input.value = password();
    const ok = await dialog({
      title: 'Add a user', submitLabel: 'Add user',
      body: h('div', { class: 'form' }, field('Name', name, { names: ['user.name', 'name'], help: 'Letters, digits, _ and -; starts with a letter or _.' }), pw.el),
      submit: () => post('/users', { user: { datastore_id: t.id, name: name.value.trim(), password: pw.input.value } }),
    });
    if (ok) { toast(`User ${ok.user.name} is being created`); live.now(); }
  }

  async function changePassword(u) {
    const pw = passwordField('New password', ['user.password', 'password']);
    pw.input.value = password();
    const ok = await dialog({
      title: `New password for ${u.name}`, submitLabel: 'Change password', body: h('div', { class: 'form' }, pw.el),
      submit: () => put('/users/' + u.id, { user: { password: pw.input.value } }),
    });
    if (ok) { toast(`The password of ${u.name} is being changed`); live.now(); }
  }

  const cols = [
    { label: 'Name', cell: (u) => h('span', { class: 'name' }, u.name) },
    { label: 'Status', cell: (u) => badge(u.status) },
    { label: 'Created', class: 'hide-sm', cell: (u) => h('span', { title: when(u.created_at) }, ago(u.created_at)) },
    {
      label: '', class: 'actions', cell: (u) => [
        button('Password', { small: true, icon: 'key', onclick: () => changePassword(u), disabled: u.status !== 'ACTIVE', ariaLabel: `Change the password of ${u.name}` }),
        button('Delete', {
          small: true, kind: 'danger', ariaLabel: `Delete ${u.name}`, disabled: u.status === 'PENDING_DELETE',
          onclick: () => confirmDelete({
            title: `Delete user ${u.name}?`, text: 'The user is dropped from the engine; connections with its credentials stop working.',
            run: async () => { await del('/users/' + u.id); live.now(); },
          }),
        }),
      ],
    },
  ];
  const live = liveObjects(t, '/users', 'users', (items) => {
    replace(box, table(cols, items, {
      rowData: (u) => ({ name: u.name, status: u.status }),
      empty: empty('No users yet', 'Add a user to connect to the datastore with its name and password.', button('Add user', { kind: 'primary', icon: 'plus', onclick: () => create() }), 'key'),
    }));
  });
  replace(box, table(cols, null));
  await live.first;
}
