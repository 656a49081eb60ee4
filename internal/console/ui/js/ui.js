// Components shared by the views: badges, buttons, fields, tables, empty
// states, dialogs, toasts and the copy button.

import { h, icon, replace } from './dom.js';
import { statusClass, statusText } from './format.js';

/** badge shows a status. */
export function badge(status, label) {
  return h('span', { class: 'badge ' + statusClass(status), 'data-status': status || '' }, label || statusText(status));
}

/** button makes a button: button('Save', {kind: 'primary', icon: 'plus', onclick}). */
export function button(label, opts = {}) {
  const b = h('button', {
    type: opts.type || 'button',
    class: [opts.kind, opts.small ? 'small' : ''].filter(Boolean).join(' ') || null,
    onclick: opts.onclick,
    disabled: opts.disabled,
    title: opts.title,
    'aria-label': opts.ariaLabel,
    dataset: opts.dataset,
  }, opts.icon ? icon(opts.icon) : null, label);
  return b;
}

/** busy marks a button as working while fn runs, and returns fn's result. */
export async function busy(btn, fn) {
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
  }
}

let fieldSeq = 0;

/**
 * field wraps an input with its label, help and error line. names lists the API
 * fields whose errors belong here ("datastore.name", "name").
 */
export function field(label, input, opts = {}) {
  const id = input.id || `f${++fieldSeq}`;
  input.id = id;
  const err = h('div', { class: 'error', id: id + '-err', role: 'alert' });
  const help = opts.help ? h('div', { class: 'help', id: id + '-help' }, opts.help) : null;
  input.setAttribute('aria-describedby', [help ? id + '-help' : '', id + '-err'].filter(Boolean).join(' '));
  if (opts.names) input.dataset.fields = opts.names.join(' ');
  const el = h('div', { class: 'field' + (opts.class ? ' ' + opts.class : '') }, h('label', { for: id }, label), input, help, err);
  return el;
}

/** input makes an <input>. */
export function input(props = {}) {
  return h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', ...props });
}

/** select makes a <select> from [{value, label, disabled}] options. */
export function select(options, props = {}) {
  const s = h('select', props);
  setOptions(s, options, props.value);
  return s;
}

/** setOptions replaces a select's options, keeping value when it still exists. */
export function setOptions(s, options, value) {
  const keep = value !== undefined ? String(value) : s.value;
  replace(s, options.map((o) => h('option', { value: o.value, disabled: o.disabled }, o.label)));
  if (options.some((o) => String(o.value) === keep)) s.value = keep;
}

/** clearErrors removes the error marks of a form. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.field .error')) el.textContent = '';
  const top = form.querySelector('.form-error');
  if (top) top.textContent = '';
}

/**
 * showError puts an API error next to the field it names (matched against the
 * fields' data-fields), or at the top of the form, and focuses that field.
 */
export function showError(form, err) {
  clearErrors(form);
  const msg = err.message || String(err);
  const f = err.field || '';
  if (f) {
    for (const el of form.querySelectorAll('[data-fields]')) {
      const names = el.dataset.fields.split(' ');
      if (names.some((n) => f === n || f.endsWith('.' + n) || f.startsWith(n + '.'))) {
        el.setAttribute('aria-invalid', 'true');
        const box = form.querySelector('#' + CSS.escape(el.id + '-err'));
        if (box) box.textContent = msg;
        el.focus();
        return;
      }
    }
  }
  let top = form.querySelector('.form-error');
  if (!top) {
    top = h('div', { class: 'form-error', role: 'alert' });
    form.prepend(top);
  }
  top.textContent = msg;
}

/** panel makes a card with a header (title, hint, buttons) and a body. */
export function panel(title, opts = {}, ...body) {
  const head = title ? h('div', { class: 'panel-head' },
    h('h2', null, title, opts.hint ? h('span', { class: 'hint' }, ' ', opts.hint) : null),
    opts.actions || null) : null;
  return h('section', { class: 'panel' + (opts.class ? ' ' + opts.class : ''), 'aria-label': typeof title === 'string' ? title : null, id: opts.id },
    head, opts.flush ? body : h('div', { class: 'panel-body' }, body));
}

/** empty is an empty state: what is missing and how to add it. */
export function empty(title, text, action, ic = 'db') {
  return h('div', { class: 'empty' }, icon(ic), h('h3', null, title), text ? h('p', null, text) : null, action || null);
}

/**
 * table renders rows under columns [{label, cell: row => node, class}], or an
 * empty state. rows === null shows placeholder rows of the same height while
 * data loads, so nothing jumps when it arrives.
 */
export function table(columns, rows, opts = {}) {
  const head = h('thead', null, h('tr', null, columns.map((c) => h('th', { class: c.class || null, scope: 'col' }, c.label))));
  if (rows === null) {
    const n = opts.skeleton || 3;
    const body = h('tbody', { 'aria-busy': 'true' });
    for (let i = 0; i < n; i++) body.append(h('tr', { class: 'skel' }, columns.map(() => h('td', null, h('span')))));
    return h('div', { class: 'table-wrap' }, h('table', null, head, body));
  }
  if (!rows.length) return opts.empty || empty('Nothing here yet', '');
  const body = h('tbody', null, rows.map((r) => {
    const tr = h('tr', { class: opts.onrow ? 'link' : null, dataset: opts.rowData ? opts.rowData(r) : undefined },
      columns.map((c) => h('td', { class: c.class || null }, c.cell(r))));
    if (opts.onrow) {
      tr.addEventListener('click', (e) => {
        if (e.target.closest('a, button, input, select, label')) return;
        opts.onrow(r);
      });
    }
    return tr;
  }));
  return h('div', { class: 'table-wrap' }, h('table', null, head, body));
}

/** toast shows a short message in the corner. */
export function toast(message, kind) {
  const box = document.getElementById('toasts');
  const t = h('div', { class: 'toast' + (kind ? ' ' + kind : '') }, message);
  box.append(t);
  setTimeout(() => t.remove(), kind === 'bad' ? 8000 : 4000);
}

/**
 * dialog opens a modal <dialog> (focus stays inside, Escape closes) and resolves
 * with the value its submit returns, or null when cancelled. submit may throw an
 * error to keep the dialog open; it is shown in the form.
 */
export function dialog({ title, body, submitLabel = 'OK', danger = false, submit, cancelLabel = 'Cancel', wide = false }) {
  return new Promise((resolve) => {
    const ok = button(submitLabel, { type: 'submit', kind: danger ? 'danger solid' : 'primary' });
    const form = h('form', { method: 'dialog', class: 'form', novalidate: true },
      h('div', { class: 'dlg-head' }, h('h2', null, title)),
      h('div', { class: 'dlg-body' }, h('div', { class: 'form-error', role: 'alert' }), body),
      h('div', { class: 'dlg-foot' }, cancelLabel ? button(cancelLabel, { onclick: () => close(null) }) : null, ok));
    const dlg = h('dialog', { 'aria-label': title, class: wide ? 'wide' : null }, form);
    let done = false;
    function close(v) {
      if (done) return;
      done = true;
      dlg.close();
      dlg.remove();
      resolve(v);
    }
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const v = submit ? await busy(ok, () => submit(form)) : true;
        if (v !== undefined && v !== false) close(v);
      } catch (err) {
        showError(form, err);
      }
    });
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); close(null); });
    document.body.append(dlg);
    dlg.showModal();
    const first = body && (body.querySelector ? body.querySelector('input, select, textarea') : null);
    if (first) first.focus(); else ok.focus();
  });
}

/**
 * confirmDelete asks to confirm a deletion; with typeName, the person must type
 * the name of what is deleted.
 */
export function confirmDelete({ title, text, typeName, action = 'Delete', run }) {
  const body = [h('p', null, text)];
  let typed = null;
  if (typeName !== undefined) {
    typed = input({ name: 'confirm-name', autocomplete: 'off' });
    body.push(field(h('span', null, 'Type ', h('code', null, typeName), ' to confirm'), typed));
  }
  return dialog({
    title, body: h('div', { class: 'form' }, body), submitLabel: action, danger: true,
    submit: async (form) => {
      if (typed && typed.value !== typeName) {
        const e = new Error('The name does not match.');
        e.field = 'confirm';
        typed.dataset.fields = 'confirm';
        throw e;
      }
      await run();
      return true;
    },
  });
}

/** copyText puts text on the clipboard (with a fallback for pages that are not a secure context). */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch { /* fall back */ }
  }
  const ta = h('textarea', { readonly: true, class: 'offscreen' });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  ta.remove();
  return ok;
}

/** copyButton copies what getText returns. */
export function copyButton(getText, label = 'Copy') {
  const b = button(label, { icon: 'copy', small: true, ariaLabel: label });
  b.addEventListener('click', async () => {
    const ok = await copyText(typeof getText === 'function' ? getText() : getText);
    const old = b.lastChild.textContent;
    b.lastChild.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => { b.lastChild.textContent = old; }, 1500);
  });
  return b;
}

/** segmented is a group of toggle buttons; onchange gets the chosen value. */
export function segmented(options, value, onchange, label) {
  const wrap = h('div', { class: 'segmented', role: 'group', 'aria-label': label });
  const set = (v) => {
    for (const b of wrap.children) b.setAttribute('aria-pressed', String(b.dataset.value === String(v)));
  };
  for (const o of options) {
    wrap.append(h('button', { type: 'button', dataset: { value: o.value }, onclick: () => { set(o.value); onchange(o.value); } }, o.label));
  }
  set(value);
  return wrap;
}
