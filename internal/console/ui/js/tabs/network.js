// Network: the firewall (addresses allowed to connect) and, on
// PostgreSQL, the connection pooler.

import { h, replace } from '../dom.js';
import { put } from '../api.js';
import { busy, button, field, input, panel, select, showError, toast } from '../ui.js';

export async function networkTab(t) {
  const list = h('ul', { class: 'fw-list', 'aria-label': 'Allowed addresses' });
  const addr = input({ name: 'ip', placeholder: '203.0.113.10 or 198.51.100.0/24', class: 'mono' });
  const add = button('Add', { icon: 'plus', type: 'submit' });
  const save = button('Save firewall', { kind: 'primary' });
  const state = h('p', { class: 'muted small' });
  let ips = (t.ds.firewall || []).map((f) => f.ip);
  let dirty = false;

  const fwForm = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'form-error', role: 'alert' }),
    state, list,
    h('div', { class: 'inline-form' }, field('Address or network', addr, { names: ['firewall.ips', 'ips', 'firewall'] }), add),
    h('div', { class: 'actions-row' }, save));

  function paintList() {
    state.textContent = ips.length ? `Only these ${ips.length} address${ips.length === 1 ? '' : 'es'} may connect.` : 'Every address may connect: add an address to allow only it.';
    replace(list, ips.map((ip, i) => h('li', null, h('span', { class: 'mono' }, ip),
      button('Remove', { small: true, kind: 'ghost', ariaLabel: `Remove ${ip}`, onclick: () => { ips.splice(i, 1); dirty = true; paintList(); } }))));
    save.disabled = !dirty || t.ds.status !== 'ACTIVE';
  }
  fwForm.addEventListener('submit', (e) => {
    e.preventDefault();
    for (const v of addr.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean)) if (!ips.includes(v)) ips.push(v);
    addr.value = '';
    dirty = true;
    paintList();
    addr.focus();
  });
  save.addEventListener('click', async () => {
    try {
      await busy(save, () => put(`/datastores/${t.id}/firewall`, { firewall: { ips } }));
      dirty = false;
      toast('The firewall is being changed');
      await t.reload();
    } catch (err) { showError(fwForm, err); }
    paintList();
  });

  const parts = [panel('Firewall', { hint: 'enforced by the engines themselves' }, fwForm)];

  if (t.caps.pooler) {
    const mode = select([{ value: 'transaction', label: 'Transaction' }, { value: 'session', label: 'Session' }, { value: 'statement', label: 'Statement' }], { name: 'mode' });
    const size = input({ type: 'number', name: 'size', min: '1', max: '500' });
    const psave = button('Save pooler', { type: 'submit', kind: 'primary' });
    const pform = h('form', { class: 'form', novalidate: true },
      h('div', { class: 'form-error', role: 'alert' }),
      h('p', { class: 'muted small' }, 'PgBouncer runs beside the primary; connect to the pooler address shown on the overview.'),
      h('div', { class: 'form-row' },
        field('Mode', mode, { names: ['pooler.mode', 'mode'], help: 'Transaction suits most applications; session keeps prepared statements and session state.' }),
        field('Pool size', size, { names: ['pooler.size', 'size'], help: 'Server connections per user and database, 1 to 500.' })),
      h('div', { class: 'actions-row' }, psave));
    const fill = () => { mode.value = t.ds.pooler?.mode || 'transaction'; size.value = String(t.ds.pooler?.size ?? 30); };
    fill();
    pform.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await busy(psave, () => put(`/datastores/${t.id}/pooler`, { pooler: { mode: mode.value, size: Number(size.value) } }));
        toast('The pooler is being changed');
        await t.reload();
      } catch (err) { showError(pform, err); }
    });
    parts.push(panel('Connection pooler', {}, pform));
  }
  replace(t.root, h('div', { class: 'grid' }, parts));
  t.onChange((d) => {
    if (!dirty) ips = (d.firewall || []).map((f) => f.ip);
    paintList();
  });
}
