// The actions timeline: every change dbaasd made to the datastore, newest
// first, with progress while running and the error when one failed.

import { h, replace } from '../dom.js';
import { get, query } from '../api.js';
import { ago, duration, parseTime, statusClass, when } from '../format.js';
import { badge, empty, panel, select } from '../ui.js';

/** actionText turns "datastore.create" into "Create datastore". */
export function actionText(name) {
  const [kind, verb] = (name || '').split('.');
  if (!verb) return name || '';
  const what = kind.replace(/_/g, ' ').replace(/-/g, ' ');
  const v = verb.replace(/_/g, ' ');
  return v.charAt(0).toUpperCase() + v.slice(1) + ' ' + what;
}

export async function actionsTab(t) {
  const list = h('div');
  const filter = select([{ value: '', label: 'All actions' }, { value: 'changes', label: 'Changes only' }, { value: 'failed', label: 'Failed' }], { 'aria-label': 'Show' });
  let actions = null;
  replace(t.root, panel('Actions', { flush: true, hint: 'newest first', actions: filter }, list));

  function paint() {
    if (!actions) return;
    const rows = actions.filter((a) => (filter.value === 'failed' ? a.status === 'ERROR' : filter.value === 'changes' ? !['datastore.backup', 'datastore.repair'].includes(a.name) : true));
    if (!rows.length) {
      replace(list, empty('No actions', filter.value ? 'No action matches.' : 'Changes to the datastore appear here.', null, 'list'));
      return;
    }
    replace(list, h('ol', { class: 'timeline' }, rows.map((a) => {
      const start = parseTime(a.start_time);
      const end = parseTime(a.finish_time);
      const took = start && end ? duration((end - start) / 1000) : start ? `running for ${duration((Date.now() - start) / 1000)}` : 'waiting';
      return h('li', { dataset: { action: a.name, status: a.status } },
        h('span', { class: 'dot ' + statusClass(a.status), 'aria-hidden': 'true' }),
        h('div', null,
          h('div', null, h('span', { class: 'what' }, actionText(a.name)), ' ', badge(a.status)),
          h('div', { class: 'small muted' }, h('span', { class: 'mono' }, a.name), ' · ', took, ' · request ', h('span', { class: 'mono' }, a.request_id)),
          a.status === 'RUNNING' ? h('div', { class: 'progress', role: 'progressbar', 'aria-valuenow': a.progress, 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('span', { class: 'w' + Math.round((a.progress || 0) / 10) })) : null,
          a.error ? h('div', { class: 'err' }, a.error) : null),
        h('div', { class: 'when', title: when(a.created_at) }, ago(a.created_at)));
    })));
  }
  filter.addEventListener('change', paint);
  replace(list, h('div', { class: 'empty muted' }, 'Loading…'));
  await t.ctx.every(() => (actions || []).some((a) => a.status === 'RUNNING' || a.status === 'PENDING') ? 1500 : 5000, async () => {
    const r = await get('/actions' + query({ datastore_id: t.id }));
    actions = (r.actions || []).sort((a, b) => (b.created_at || '').localeCompare(a.created_at || '') || (b.updated_at || '').localeCompare(a.updated_at || ''));
    paint();
  }).first;
}
