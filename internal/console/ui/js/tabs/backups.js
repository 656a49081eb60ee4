// Backups and restore. The backups are the datastore's datastore.backup
// actions; a restore creates a new datastore from them. PostgreSQL and
// MySQL archive their logs continuously, so they restore to any second
// from the oldest kept backup to now: the time picker is limited to that
// window (the server checks it again and says the exact window if the
// choice falls outside). Redis restores a snapshot.

import { h, replace } from '../dom.js';
import { get, post, put, query } from '../api.js';
import { apiTime, duration, parseTime, when } from '../format.js';
import { go } from '../nav.js';
import { badge, busy, button, empty, field, input, panel, showError, table, toast } from '../ui.js';
import { password } from './common.js';

const PITR = new Set(['postgresql', 'mysql', 'mysql_native']);

/** restoreWindow returns {from, to} (Dates) a restore may target, or null. */
export function restoreWindow(backups, retentionDays, now = new Date()) {
  const done = backups.filter((b) => b.status === 'SUCCESS' && b.finish_time).map((b) => parseTime(b.finish_time)).filter(Boolean);
  if (!done.length) return null;
  let from = new Date(Math.min(...done));
  const keep = new Date(now.getTime() - retentionDays * 86400e3);
  if (keep > from) from = keep;
  const to = new Date(Math.floor(now.getTime() / 1000) * 1000);
  return from <= to ? { from, to } : null;
}

const local = (d) => apiTime(d); // the picker shows UTC, as the API

export async function backupsTab(t) {
  const pitr = PITR.has(t.engine);
  const listBox = h('div');
  const restoreBox = h('div');
  const retention = input({ type: 'number', name: 'backup_retention_days', min: '1', value: String(t.ds.backup_retention_days) });
  const rsave = button('Save', { type: 'submit' });
  const rform = h('form', { class: 'inline-form', novalidate: true },
    field('Keep backups for (days)', retention, { names: ['backups.backup_retention_days', 'backup_retention_days'] }), rsave);
  rform.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await busy(rsave, () => put(`/datastores/${t.id}/backups`, { backups: { backup_retention_days: Number(retention.value) } }));
      toast('Backup retention changed');
      await t.reload();
    } catch (err) { showError(rform, err); }
  });

  replace(t.root,
    h('div', { class: 'grid' },
      panel(pitr ? 'Restore to a point in time' : 'Restore a snapshot', { id: 'restore' }, restoreBox),
      panel('Retention', {}, h('div', { class: 'form' },
        h('p', { class: 'muted small' }, pitr ? 'A base backup is taken every day and the write-ahead log is archived continuously.' : 'A snapshot is taken every day.'),
        rform))),
    panel('Backups', { flush: true }, listBox));

  let backups = null;
  let painted = '';
  const cols = [
    { label: 'Started', cell: (b) => when(b.start_time || b.created_at) },
    { label: 'Finished', class: 'hide-sm', cell: (b) => when(b.finish_time) },
    { label: 'Took', class: 'hide-sm', cell: (b) => (b.start_time && b.finish_time ? duration((parseTime(b.finish_time) - parseTime(b.start_time)) / 1000) : '—') },
    { label: 'Status', cell: (b) => [badge(b.status), b.error ? h('div', { class: 'sub' }, b.error) : null] },
    { label: 'Reason', class: 'hide-sm', cell: (b) => h('span', { class: 'small muted' }, b.request_id === 'dbaasd-first-backup' ? 'first backup' : b.request_id.startsWith('dbaasd') ? 'scheduled' : b.request_id) },
  ];

  function paintRestore() {
    const w = restoreWindow(backups || [], t.ds.backup_retention_days);
    const key = JSON.stringify([!!w, w && w.from.getTime(), t.ds.status]);
    if (key === painted && restoreBox.firstChild) {
      if (w && restoreBox.updateWindow) restoreBox.updateWindow(w);
      return;
    }
    painted = key;
    if (!w) {
      replace(restoreBox, h('p', { class: 'muted' }, backups === null ? 'Reading the backups…' : 'There is no backup to restore from yet: the first one is taken shortly after the datastore is created.'));
      return;
    }
    const name = input({ name: 'name', value: `${t.ds.name}-restore`, maxlength: 255 });
    const at = input({ type: 'datetime-local', name: 'target_time', step: '1' });
    const slider = h('input', { type: 'range', min: '0', max: '1000', step: '1', 'aria-label': 'Point in time', class: 'slider' });
    const windowText = h('div', { class: 'help' });
    const redisPw = t.engine === 'redis' ? input({ type: 'text', name: 'redis_password', class: 'mono', value: password() }) : null;
    const submit = button('Restore into a new datastore', { type: 'submit', kind: 'primary' });
    let cur = w;
    const setWindow = (nw) => {
      cur = nw;
      at.min = local(nw.from);
      at.max = local(nw.to);
      windowText.textContent = `Restorable: ${when(nw.from)} to ${when(nw.to)}`;
    };
    const fromSlider = () => {
      const ms = cur.from.getTime() + (cur.to - cur.from) * Number(slider.value) / 1000;
      at.value = local(new Date(Math.round(ms / 1000) * 1000));
    };
    const toSlider = () => {
      const d = parseTime(at.value);
      if (d && cur.to > cur.from) slider.value = String(Math.round(((d - cur.from) / (cur.to - cur.from)) * 1000));
    };
    setWindow(w);
    slider.value = '1000';
    fromSlider();
    slider.addEventListener('input', fromSlider);
    at.addEventListener('input', toSlider);
    restoreBox.updateWindow = (nw) => { const end = slider.value === '1000'; setWindow(nw); if (end) fromSlider(); else toSlider(); };
    const quick = (label, sec) => button(label, {
      small: true, onclick: () => {
        const d = new Date(Math.max(cur.from.getTime(), cur.to.getTime() - sec * 1000));
        at.value = local(d);
        toSlider();
      },
    });
    const form = h('form', { class: 'form', novalidate: true },
      h('div', { class: 'form-error', role: 'alert' }),
      pitr ? [
        field('Point in time (UTC)', at, { names: ['restore.target_time', 'target_time'] }),
        slider, windowText,
        h('div', { class: 'actions-row' }, quick('1 min ago', 60), quick('15 min ago', 900), quick('1 h ago', 3600), quick('Oldest', 1e12)),
      ] : h('p', { class: 'muted' }, 'The newest snapshot is restored.'),
      h('div', { class: 'form-row' },
        field('New datastore name', name, { names: ['datastore.name', 'name'] }),
        redisPw ? field('Redis password', redisPw, { names: ['redis_password'] }) : null),
      h('div', null, submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const src = t.ds;
      const d = { name: name.value.trim(), type_id: src.type_id, node_count: src.node_count, subnet_id: src.subnet_id, restore: { datastore_id: src.id } };
      if (src.flavor_id) d.flavor_id = src.flavor_id;
      else d.flavor = { vcpus: src.flavor.vcpus, ram: src.flavor.ram, disk: src.flavor.disk, disk_type: src.flavor.disk_type };
      if (pitr) {
        const when2 = parseTime(at.value);
        if (!when2) { showError(form, Object.assign(new Error('Choose a point in time.'), { field: 'restore.target_time' })); return; }
        d.restore.target_time = apiTime(when2);
      }
      if (redisPw) d.redis_password = redisPw.value;
      if (src.pooler) d.pooler = { mode: src.pooler.mode, size: src.pooler.size };
      d.backup_retention_days = src.backup_retention_days;
      try {
        const r = await busy(submit, () => post('/datastores', { datastore: d }));
        toast(`Restoring into ${r.datastore.name}`);
        go(`/datastores/${r.datastore.id}`);
      } catch (err) { showError(form, err); }
    });
    replace(restoreBox, form);
  }

  replace(listBox, table(cols, null, { skeleton: 2 }));
  paintRestore();
  await t.ctx.every(() => (backups || []).some((b) => b.status === 'RUNNING' || b.status === 'PENDING') ? 2000 : 10000, async () => {
    const r = await get('/actions' + query({ datastore_id: t.id, name: 'datastore.backup' }));
    backups = (r.actions || []).sort((a, b) => (b.created_at || '').localeCompare(a.created_at || ''));
    replace(listBox, table(cols, backups, { empty: empty('No backups yet', 'The first backup is taken shortly after the datastore is created.', null, 'list') }));
    paintRestore();
  }).first;
  t.onChange(() => paintRestore());
  // A live datastore can be restored up to now: the window's end follows the clock.
  t.ctx.every(1000, async () => { if (restoreBox.updateWindow) paintRestore(); }, { wait: true });
}
