// Metric charts: the datastore's instances (CPU, memory, disk,
// connections, transactions, replication lag, engine-specific ones) and
// its databases, over a chosen time range, refreshed while shown.

import { h, replace } from '../dom.js';
import { get, query } from '../api.js';
import { Chart } from '../chart.js';
import { apiTime, bytes, number } from '../format.js';
import { panel, segmented } from '../ui.js';

const pct = (v) => number(v) + '%';
const ratio = (v) => (v == null ? '—' : (v * 100).toFixed(1) + '%');
const rate = (v) => number(v) + '/s';
const byteRate = (v) => bytes(v) + '/s';

/** The charts of a datastore's instances, in order; each is drawn when the API has its series. */
export const INSTANCE_CHARTS = [
  ['cpu_percent', 'CPU', pct],
  ['memory_bytes', 'Memory', bytes],
  ['disk_used_bytes', 'Disk used', bytes],
  ['connections', 'Connections', number],
  ['commits_per_second', 'Transactions (commits)', rate],
  ['rollbacks_per_second', 'Rollbacks', rate],
  ['queries_per_second', 'Queries', rate],
  ['commands_per_second', 'Commands', rate],
  ['messages_in_per_second', 'Messages in', rate],
  ['rows_read_per_second', 'Rows read', rate],
  ['rows_written_per_second', 'Rows written', rate],
  ['replication_lag_bytes', 'Replication lag', bytes],
  ['replication_lag_seconds', 'Replication lag (seconds)', number],
  ['galera_recv_queue', 'Galera receive queue', number],
  ['cache_hit_ratio', 'Cache hit ratio', ratio],
  ['used_memory_bytes', 'Redis used memory', bytes],
  ['keys', 'Keys', number],
  ['net_input_bytes_per_second', 'Network in', byteRate],
  ['net_output_bytes_per_second', 'Network out', byteRate],
  ['partitions', 'Partitions led', number],
  ['topics', 'Topics', number],
  ['slow_queries_per_second', 'Slow queries', rate],
  ['deadlocks_per_second', 'Deadlocks', rate],
  ['temp_bytes_per_second', 'Temporary files', byteRate],
];

/** The charts of a datastore's databases (series per database). */
export const DATABASE_CHARTS = [
  ['size_bytes', 'Size', bytes],
  ['connections', 'Connections', number],
  ['commits_per_second', 'Transactions (commits)', rate],
  ['rows_written_per_second', 'Rows written', rate],
  ['keys', 'Keys', number],
  ['messages', 'Messages', number],
  ['messages_in_per_second', 'Messages in', rate],
];

/** The charts shown before the first answer, so the page does not jump. */
const FIRST = ['cpu_percent', 'memory_bytes', 'disk_used_bytes', 'connections'];

const RANGES = [
  { value: '900', label: '15 min' }, { value: '3600', label: '1 hour' }, { value: '21600', label: '6 hours' },
  { value: '86400', label: '24 hours' }, { value: '604800', label: '7 days' },
];

export async function metricsTab(t) {
  let span = Number(sessionStorage.getItem('dbaasd.console.range') || 3600);
  const instGrid = h('div', { class: 'charts' });
  const dbGrid = h('div', { class: 'charts' });
  const stepNote = h('span', { class: 'muted small' });
  const charts = new Map();
  const dbCharts = new Map();
  const dbPanel = panel('Databases', { hint: 'measured on the primary', class: 'plain' }, dbGrid);
  dbPanel.hidden = true;

  replace(t.root,
    h('div', { class: 'toolbar panel' },
      h('strong', null, 'Time range'),
      segmented(RANGES, String(span), (v) => { span = Number(v); sessionStorage.setItem('dbaasd.console.range', v); live.now(); }, 'Time range'),
      h('span', { class: 'grow' }), stepNote),
    h('h2', { class: 'section' }, 'Instances'),
    instGrid,
    dbPanel);

  for (const key of FIRST) {
    const def = INSTANCE_CHARTS.find((c) => c[0] === key);
    const c = new Chart(def[1], def[2]);
    charts.set(key, c);
    instGrid.append(c.el);
  }

  const roleOf = () => new Map((t.ds.instances || []).map((i) => [i.hostname, i.role === 'MASTER' ? 'primary' : i.role === 'REPLICA' ? 'replica' : '']));
  const label = (key, roles) => (roles.get(key) ? `${key} (${roles.get(key)})` : key);

  async function draw(defs, m, grid, map, roles) {
    const present = defs.filter(([k]) => m[k] && Object.keys(m[k]).length);
    const range = { from: Math.floor(Date.now() / 1000) - span, to: Math.floor(Date.now() / 1000) };
    // Charts keep their order; ones the API has no series for are removed.
    for (const [k, c] of map) if (!present.some(([p]) => p === k)) { c.destroy(); c.el.remove(); map.delete(k); }
    const jobs = [];
    for (const [k, title, fmt] of present) {
      let c = map.get(k);
      if (!c) { c = new Chart(title, fmt); map.set(k, c); }
      grid.append(c.el);
      const series = Object.entries(m[k]).sort(([a], [b]) => a.localeCompare(b)).map(([key, s]) => ({ label: label(key, roles), timestamps: s.timestamps, values: s.values }));
      jobs.push(c.set(series, range));
    }
    await Promise.all(jobs);
  }

  const live = t.ctx.every(() => 15000, async () => {
    const end = new Date();
    const start = new Date(end.getTime() - span * 1000);
    const q = query({ start: apiTime(start), end: apiTime(end) });
    const [im, dm] = await Promise.all([get(`/datastores/${t.id}/metrics${q}`), get(`/datastores/${t.id}/metrics/databases${q}`)]);
    const m = im.metrics || {};
    const d = dm.metrics || {};
    stepNote.textContent = m.step ? `one point every ${m.step} s` : '';
    const roles = roleOf();
    await draw(INSTANCE_CHARTS, m, instGrid, charts, roles);
    dbPanel.hidden = !DATABASE_CHARTS.some(([k]) => d[k] && Object.keys(d[k]).length);
    await draw(DATABASE_CHARTS, d, dbGrid, dbCharts, new Map());
  });
  const onResize = () => { for (const c of [...charts.values(), ...dbCharts.values()]) c.resize(); };
  window.addEventListener('resize', onResize);
  t.ctx.onDispose(() => {
    window.removeEventListener('resize', onResize);
    for (const c of [...charts.values(), ...dbCharts.values()]) c.destroy();
  });
  await live.first;
}
