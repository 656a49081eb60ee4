// Sign in: an identity user (name, password, domain, project) or an API token.

import { h, replace } from '../dom.js';
import { loginIdentity, loginToken } from '../api.js';
import { afterSignIn } from '../nav.js';
import { busy, button, field, input, segmented, showError } from '../ui.js';

export function signinView(ctx, message) {
  let mode = 'identity';
  const box = h('div');
  const card = h('section', { class: 'panel', 'aria-labelledby': 'signin-title' },
    h('div', { class: 'panel-body' },
      h('div', null, h('h1', { id: 'signin-title' }, 'Sign in to dbaasd'),
        h('p', { class: 'muted small' }, 'Your session stays in this browser tab only.')),
      message ? h('div', { class: 'notice', role: 'status' }, message) : null,
      segmented([{ value: 'identity', label: 'User' }, { value: 'token', label: 'API token' }], mode,
        (v) => { mode = v; render(); }, 'Sign in with'),
      box));
  replace(ctx.root, h('div', { class: 'signin' }, card));

  function render() {
    const submit = button('Sign in', { type: 'submit', kind: 'primary' });
    let form;
    if (mode === 'identity') {
      const name = input({ name: 'username', autocomplete: 'username', required: true });
      const password = input({ name: 'password', type: 'password', autocomplete: 'current-password', required: true });
      const domain = input({ name: 'domain', value: 'Default' });
      const project = input({ name: 'project', placeholder: 'your default project', class: 'mono' });
      form = h('form', { class: 'form', novalidate: true },
        h('div', { class: 'form-error', role: 'alert' }),
        field('User name', name, { names: ['user.name'] }),
        field('Password', password, { names: ['password'] }),
        h('div', { class: 'form-row' },
          field('Domain', domain, { names: ['domain'] }),
          field('Project ID', project, { names: ['project', 'scope'] })),
        submit);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        try {
          await busy(submit, () => loginIdentity({ name: name.value.trim(), password: password.value, domain: domain.value.trim(), project: project.value.trim() }));
          afterSignIn();
        } catch (err) {
          password.value = '';
          showError(form, err);
        }
      });
      queueMicrotask(() => name.focus());
    } else {
      const token = input({ name: 'token', type: 'password', autocomplete: 'off', required: true, class: 'mono' });
      form = h('form', { class: 'form', novalidate: true },
        h('div', { class: 'form-error', role: 'alert' }),
        field('API token', token, { names: ['token'], help: 'The value sent as X-Auth-Token, e.g. the one dbaasd printed at its first start.' }),
        submit);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        try {
          await busy(submit, () => loginToken(token.value));
          afterSignIn();
        } catch (err) {
          token.value = '';
          showError(form, err.status === 401 ? new Error('The API does not accept this token.') : err);
        }
      });
      queueMicrotask(() => token.focus());
    }
    replace(box, form);
  }
  render();
  ctx.ready();
}
