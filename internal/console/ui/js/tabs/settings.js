// Settings: name, resize (nodes, flavor, disk), protection, the Redis
// password, log export, and deletion with a confirmation that names the
// datastore.

import { h, replace } from '../dom.js';
import { del, put, post } from '../api.js';
import { flavorText } from '../catalog.js';
import { NODES } from '../format.js';
import { go } from '../nav.js';
import { busy, button, confirmDelete, field, input, panel, select, setOptions, showError, toast } from '../ui.js';
import { passwordField } from './users.js';

function formOf(submitLabel, body, run, opts = {}) {
  const submit = button(submitLabel, { type: 'submit', kind: opts.kind || 'primary' });
  const form = h('form', { class: 'form', novalidate: true }, h('div', { class: 'form-error', role: 'alert' }), body, h('div', { class: 'actions-row' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await busy(submit, run);
    } catch (err) { showError(form, err); }
  });
  return { form, submit };
}

export async function settingsTab(t) {
  const ds = t.ds;
  const cat = t.cat;
  const parts = [];

  // Name.
  const name = input({ name: 'name', value: ds.name, maxlength: 255 });
  parts.push(panel('Name', {}, formOf('Rename', field('Datastore name', name, { names: ['datastore.name', 'name'] }), async () => {
    await put('/datastores/' + t.id, { datastore: { name: name.value.trim() } });
    toast('Renamed');
    await t.reload();
  }).form));

  // Resize.
  const nodes = select((NODES[t.engine] || [1]).map((n) => ({ value: n, label: n === 1 ? '1 node' : `${n} nodes` })), { name: 'node_count', value: ds.node_count });
  const flavors = cat.flavors.filter((f) => !f.datastore_type_ids?.length || f.datastore_type_ids.includes(ds.type_id));
  const flavor = select([{ value: '', label: `keep ${flavorText(ds.flavor)}` }, ...flavors.filter((f) => f.id !== ds.flavor_id).map((f) => ({ value: f.id, label: `${f.name} — ${flavorText(f)}` }))], { name: 'flavor_id' });
  const disk = input({ type: 'number', name: 'disk', min: String(ds.flavor?.disk || 1), placeholder: `${ds.flavor?.disk} GB now` });
  const resize = formOf('Resize', [
    h('p', { class: 'muted small' }, 'Change one thing at a time: the datastore turns RESIZING until the engines are done.'),
    h('div', { class: 'form-row' },
      field('Nodes', nodes, { names: ['resize.node_count', 'node_count'] }),
      field('Flavor', flavor, { names: ['resize.flavor_id', 'resize.flavor', 'flavor_id'] }),
      ds.flavor?.disk_type === 'network-ultra' ? field('Disk (GB)', disk, { names: ['resize.disk.size', 'disk'], help: 'Volumes only grow.' }) : null),
  ], async () => {
    const r = {};
    if (Number(nodes.value) !== t.ds.node_count) r.node_count = Number(nodes.value);
    if (flavor.value) r.flavor_id = flavor.value;
    if (disk.value) r.disk = { size: Number(disk.value) };
    if (!Object.keys(r).length) throw new Error('Nothing to change: choose a node count, a flavor or a disk size.');
    await post(`/datastores/${t.id}/resize`, { resize: r });
    toast('Resizing');
    await t.reload();
  });
  parts.push(panel('Resize', {}, resize.form));

  // Redis password.
  if (t.caps.password) {
    const pw = passwordField('New password', ['password.redis_password', 'redis_password']);
    pw.input.value = '';
    parts.push(panel('Redis password', {}, formOf('Change password', pw.el, async () => {
      await put(`/datastores/${t.id}/password`, { password: { redis_password: pw.input.value } });
      pw.input.value = '';
      toast('The password is being changed');
      await t.reload();
    }).form));
  }

  // Log export.
  const group = input({ name: 'log_group', placeholder: 'audit', value: ds.log_platform?.log_group || '' });
  const logBox = h('div');
  const paintLogs = () => {
    const on = !!t.ds.log_platform;
    const f = formOf(on ? 'Change group' : 'Start export', [
      h('p', { class: 'muted small' }, on ? `New log lines are exported to the group ${t.ds.log_platform.log_group}.` : 'Export new log lines of the engines to a log group.'),
      field('Log group', group, { names: ['log_platform.log_group', 'log_group'] }),
    ], async () => {
      await put(`/datastores/${t.id}/log-platform`, { log_platform: { log_group: group.value.trim() } });
      toast('Log export on');
      await t.reload();
      paintLogs();
    });
    if (on) {
      f.form.lastChild.append(button('Stop export', {
        kind: 'danger', onclick: (e) => busy(e.currentTarget, async () => {
          try { await del(`/datastores/${t.id}/log-platform`); toast('Log export off'); await t.reload(); paintLogs(); } catch (err) { showError(f.form, err); }
        }),
      }));
    }
    replace(logBox, f.form);
  };
  paintLogs();
  parts.push(panel('Log export', {}, logBox));

  // Protection and deletion.
  const protBox = h('div');
  const delBox = h('div');
  // Painted again only when what it shows changes: the datastore is re-read
  // every few seconds, and a button replaced under the pointer (or holding
  // the keyboard focus) would lose the click.
  let dangerShown = null;
  const paintDanger = () => {
    const d = t.ds;
    const shown = `${d.name}/${d.is_protected}/${d.status === 'PENDING_DELETE'}`;
    if (shown === dangerShown) return;
    dangerShown = shown;
    replace(protBox, h('div', { class: 'setting' },
      h('div', null, h('strong', null, d.is_protected ? 'Protection is on' : 'Protection is off'),
        h('p', null, d.is_protected ? 'The datastore cannot be deleted until protection is turned off.' : 'Turn it on to keep the datastore from being deleted by mistake.')),
      button(d.is_protected ? 'Turn protection off' : 'Turn protection on', {
        dataset: { protection: String(!d.is_protected) },
        onclick: (e) => busy(e.currentTarget, async () => {
          try { await put(`/datastores/${t.id}/protection`, { protection: !d.is_protected }); await t.reload(); } catch (err) { toast(err.message, 'bad'); }
        }),
      })));
    replace(delBox, h('div', { class: 'setting' },
      h('div', null, h('strong', null, 'Delete this datastore'),
        h('p', null, d.is_protected ? 'Turn protection off first.' : 'Its servers, data and backups go. This cannot be undone.')),
      button('Delete datastore', {
        kind: 'danger solid', disabled: d.is_protected || d.status === 'PENDING_DELETE',
        onclick: () => confirmDelete({
          title: `Delete ${d.name}?`, typeName: d.name,
          text: 'The datastore, its users, databases and data are deleted. This cannot be undone.',
          run: async () => { await del('/datastores/' + t.id); toast(`${d.name} is being deleted`); go('/datastores'); },
        }),
      })));
  };
  parts.push(panel('Danger zone', { class: 'danger-zone' }, h('div', { class: 'form' }, protBox, h('hr', { class: 'sep' }), delBox)));

  replace(t.root, h('div', { class: 'form' }, parts));
  t.onChange((d) => {
    paintDanger();
    setOptions(nodes, (NODES[t.engine] || [1]).map((n) => ({ value: n, label: n === 1 ? '1 node' : `${n} nodes` })), nodes.value || d.node_count);
  });
}
