// The project's quotas and what is in use of each.

import { h, replace } from '../dom.js';
import { get } from '../api.js';
import { panel } from '../ui.js';

const ROWS = [
  ['datastores', 'Datastores', ''], ['cores', 'vCPUs', ''], ['ram', 'RAM', ' MB'], ['disk_local', 'Local disk', ' GB'],
  ['disk_network_ultra', 'Network disk', ' GB'], ['users', 'Users', ''], ['databases', 'Databases', ''], ['topics', 'Topics', ''],
  ['acls', 'ACLs', ''], ['firewall_rules', 'Firewall rules', ''], ['prometheus_metrics_tokens', 'Metrics tokens', ''],
];

export async function quotasView(ctx) {
  const grid = h('div', { class: 'stats' });
  replace(ctx.root, h('div', { class: 'page-head' }, h('div', { class: 'titles' }, h('h1', null, 'Quotas'),
    h('div', { class: 'sub' }, 'What this project may use, and what it uses now'))), panel(null, { flush: true }, grid));
  const q = ((await get('/quotas')).quotas || [])[0] || {};
  replace(grid, ROWS.filter(([k]) => k in q).map(([k, label, unit]) => {
    const used = q['in_use_' + k] ?? 0;
    const max = q[k] ?? 0;
    const pct = max ? Math.min(10, Math.round((used / max) * 10)) : 0;
    return h('div', { class: 'stat quota', dataset: { quota: k } },
      h('div', { class: 'k' }, label),
      h('div', { class: 'v' }, `${used}${unit} of ${max}${unit}`),
      h('div', { class: 'bar' }, h('span', { class: 'w' + pct })));
  }));
  ctx.ready();
}
