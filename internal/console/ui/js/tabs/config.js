// The configuration editor, fed by the catalog: every parameter with its
// type, range or choices, default (computed for this datastore's size),
// whether a change restarts the engine, and the engine's description where
// the catalog gives one. Changes are sent together; null resets.

import { h, replace } from '../dom.js';
import { get, put, query } from '../api.js';
import { busy, button, clearErrors, empty, input, panel, segmented, select, showError, toast } from '../ui.js';

function show(v) {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  return String(v);
}

/** typed turns what was typed into a value of the parameter's type. */
export function typed(p, raw) {
  if (p.type === 'bool') return raw === 'true';
  if ((p.type === 'int' || p.type === 'float') && raw.trim() !== '' && !isNaN(Number(raw))) return Number(raw);
  return raw;
}

export async function configTab(t) {
  const ds = t.ds;
  const r = await get('/configuration-parameters' + query({ datastore_type_id: ds.type_id, ram: ds.flavor?.ram, vcpus: ds.flavor?.vcpus, disk: ds.flavor?.disk }));
  const params = (r['configuration-parameters'] || []).sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }));
  const st = { q: '', only: 'changeable', edits: new Map() };

  const search = input({ type: 'search', placeholder: `Search ${params.length} parameters`, 'aria-label': 'Search parameters' });
  const body = h('tbody');
  const form = h('form', { class: 'params-form', novalidate: true },
    h('div', { class: 'form-error', role: 'alert' }),
    h('div', { class: 'table-wrap' }, h('table', { class: 'params' },
      h('thead', null, h('tr', null, h('th', null, 'Parameter'), h('th', null, 'Value'), h('th', { class: 'hide-sm' }, 'Default'))), body)));
  const count = h('span', { class: 'grow muted' });
  const restartNote = h('span', { class: 'small' });
  const save = button('Save changes', { type: 'submit', kind: 'primary' });
  const discard = button('Discard', { onclick: () => { st.edits.clear(); clearErrors(form); paint(); } });
  const bar = h('div', { class: 'sticky-save' }, count, restartNote, discard, save);
  form.append(bar);

  replace(t.root, panel('Configuration', { flush: true, hint: 'values are the engine\'s own units' },
    h('div', { class: 'toolbar' }, search,
      segmented([{ value: 'all', label: 'All' }, { value: 'set', label: 'Changed from default' }, { value: 'changeable', label: 'Changeable' }], st.only, (v) => { st.only = v; paint(); }, 'Show')),
    params.length ? form : empty('No parameters', 'The catalog has no parameters for this engine.')));

  function editor(p, current) {
    const names = ['config.' + p.name];
    const label = `Value of ${p.name}`;
    const pending = st.edits.has(p.name) ? st.edits.get(p.name) : undefined;
    const value = pending !== undefined ? (pending === null ? '' : String(pending)) : current === undefined ? '' : String(current);
    let el;
    if (p.type === 'bool' || (p.choices && p.choices.length)) {
      const opts = p.type === 'bool' ? [{ value: 'true', label: 'on' }, { value: 'false', label: 'off' }] : p.choices.map((c) => ({ value: String(c), label: String(c) }));
      el = select([{ value: '', label: `default (${show(p.default_value)})` }, ...opts], { 'aria-label': label, value });
    } else {
      el = input({
        name: p.name, 'aria-label': label, value, placeholder: `default: ${show(p.default_value)}`,
        inputmode: p.type === 'int' || p.type === 'float' ? 'decimal' : null,
      });
    }
    el.classList.add('editor');
    el.id = 'cfg-' + p.name.replace(/[^A-Za-z0-9_-]/g, '_');
    el.dataset.fields = names.join(' ');
    el.dataset.param = p.name;
    el.disabled = !p.is_changeable;
    el.addEventListener('change', () => {
      const raw = el.value;
      const was = current === undefined ? '' : String(current);
      if (raw === was) st.edits.delete(p.name);
      else st.edits.set(p.name, raw === '' ? null : typed(p, raw));
      el.closest('tr').classList.toggle('changed', st.edits.has(p.name));
      summary();
    });
    return el;
  }

  function meta(p) {
    const parts = [p.type];
    if (p.unit) parts.push(`unit ${p.unit}`);
    if (p.choices && p.choices.length && p.type !== 'bool') parts.push(`one of ${p.choices.join(', ')}`);
    else if (p.min !== null || p.max !== null) parts.push(`${show(p.min)} … ${show(p.max)}`);
    return parts.join(' · ');
  }

  function paint() {
    const cfg = t.ds.config || {};
    const q = st.q.toLowerCase();
    const rows = params.filter((p) => (!q || p.name.toLowerCase().includes(q) || (p.description || '').toLowerCase().includes(q))
      && (st.only !== 'set' || p.name in cfg || st.edits.has(p.name))
      && (st.only !== 'changeable' || p.is_changeable));
    replace(body, rows.length ? rows.map((p) => {
      const set = p.name in cfg;
      return h('tr', { class: [set ? 'set' : '', st.edits.has(p.name) ? 'changed' : ''].join(' ').trim() || null, dataset: { param: p.name } },
        h('td', null,
          h('div', { class: 'pname' }, p.name),
          h('div', { class: 'meta' }, meta(p), ' ', p.is_restart_required ? h('span', { class: 'badge warn plain' }, 'restart') : null, p.is_changeable ? null : h('span', { class: 'badge plain' }, 'fixed')),
          p.description ? h('div', { class: 'pdesc' }, p.description) : null),
        h('td', null, h('div', { class: 'field' }, editor(p, cfg[p.name]), h('div', { class: 'error', id: 'cfg-' + p.name.replace(/[^A-Za-z0-9_-]/g, '_') + '-err', role: 'alert' }))),
        h('td', { class: 'hide-sm mono small' }, show(p.default_value)));
    }) : h('tr', null, h('td', { colspan: 3 }, empty('No parameter matches', 'Change the search or the filter.', null, 'search'))));
    summary();
  }

  function summary() {
    const n = st.edits.size;
    count.textContent = n ? `${n} unsaved change${n === 1 ? '' : 's'}` : `${Object.keys(t.ds.config || {}).length} set on this datastore`;
    const restart = [...st.edits.keys()].filter((k) => params.find((p) => p.name === k)?.is_restart_required);
    replace(restartNote, restart.length ? h('span', { class: 'badge warn' }, `restarts the engine: ${restart.join(', ')}`) : null);
    save.disabled = n === 0 || t.ds.status !== 'ACTIVE';
    discard.disabled = n === 0;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!st.edits.size) return;
    const config = Object.fromEntries(st.edits);
    try {
      await busy(save, () => put(`/datastores/${t.id}/config`, { config }));
      st.edits.clear();
      clearErrors(form);
      toast('The configuration is being applied');
      await t.reload();
      paint();
    } catch (err) {
      showError(form, err);
    }
  });
  search.addEventListener('input', () => { st.q = search.value.trim(); paint(); });
  paint();
  let lastConfig = JSON.stringify(t.ds.config || {});
  let lastStatus = t.ds.status;
  t.onChange((d) => {
    const c = JSON.stringify(d.config || {});
    if (c !== lastConfig) { lastConfig = c; paint(); }
    if (d.status !== lastStatus) { lastStatus = d.status; summary(); }
  });
}
