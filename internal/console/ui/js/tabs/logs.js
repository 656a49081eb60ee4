// The logs viewer: the engines' own log lines over a time range, filtered
// by source, instance and database (by the API) and by level and text (in
// the page), newest at the bottom, following new lines while live.

import { h, highlight, replace } from '../dom.js';
import { get, query } from '../api.js';
import { apiTime } from '../format.js';
import { button, input, panel, select, setOptions } from '../ui.js';

const LEVELS = {
  error: ['error', 'fatal', 'panic', 'err', 'critical', 'crit', 'alert', 'emerg'],
  warning: ['warning', 'warn'],
};

/** levelRank orders levels: 2 errors, 1 warnings, 0 the rest. */
export function levelRank(level) {
  const l = (level || '').toLowerCase();
  if (LEVELS.error.includes(l)) return 2;
  if (LEVELS.warning.includes(l)) return 1;
  return 0;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');
const stamp = (ts) => {
  const d = new Date(ts * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
};

export async function logsTab(t) {
  const st = { job: '', inst: '', level: '', text: '', db: '', span: 3600, live: true, lines: [] };
  const job = select([{ value: '', label: 'All sources' }], { 'aria-label': 'Source' });
  const inst = select([{ value: '', label: 'All instances' }], { 'aria-label': 'Instance' });
  const level = select([{ value: '', label: 'Any level' }, { value: '1', label: 'Warnings and errors' }, { value: '2', label: 'Errors only' }], { 'aria-label': 'Level' });
  const span = select([{ value: '900', label: 'Last 15 min' }, { value: '3600', label: 'Last hour' }, { value: '21600', label: 'Last 6 hours' }, { value: '86400', label: 'Last 24 hours' }, { value: '604800', label: 'Last 7 days' }], { 'aria-label': 'Time range', value: '3600' });
  const text = input({ type: 'search', placeholder: 'Find text', 'aria-label': 'Find text in log lines', name: 'log-text' });
  const db = input({ type: 'search', placeholder: 'Database', 'aria-label': 'Database', name: 'log-db', class: 'narrow' });
  const liveBtn = button('Live', { small: true, kind: 'ghost' });
  const count = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const box = h('div', { class: 'logs', tabindex: '0', role: 'log', 'aria-label': 'Log lines' }, h('div', { class: 'none' }, 'Loading…'));
  const setLive = (v) => { st.live = v; liveBtn.setAttribute('aria-pressed', String(v)); liveBtn.lastChild.textContent = v ? 'Live: on' : 'Live: off'; };
  setLive(true);
  liveBtn.addEventListener('click', () => { setLive(!st.live); if (st.live) live.now(); });

  replace(t.root, panel('Logs', { flush: true, hint: 'the engines\' own log files', actions: [liveBtn, button('Refresh', { small: true, icon: 'refresh', onclick: () => load() })] },
    h('div', { class: 'toolbar' }, text, level, job, inst, db, span, h('span', { class: 'grow' }), count),
    box));

  const jobs = new Set();
  function paint() {
    const needle = st.text.toLowerCase();
    const min = Number(st.level || 0);
    const rows = st.lines.filter((l) => levelRank(l.labels?.level) >= min && (!needle || l.value.toLowerCase().includes(needle)
      || Object.values(l.labels || {}).some((v) => String(v).toLowerCase().includes(needle))));
    count.textContent = `${rows.length} of ${st.lines.length} lines`;
    const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
    if (!rows.length) {
      replace(box, h('div', { class: 'none' }, st.lines.length ? 'No line matches the filters.' : 'No log lines in this range.'));
      return;
    }
    replace(box, rows.map((l) => {
      const lv = (l.labels?.level || '').toLowerCase();
      return h('div', { class: 'line', dataset: { level: lv, job: l.labels?.job || '' } },
        h('span', { class: 'ts' }, stamp(l.ts)),
        h('span', { class: 'lvl ' + lv }, lv || '·'),
        h('span', { class: 'src', title: [l.labels?.job, l.labels?.hostname, l.labels?.instance].filter(Boolean).join(' · ') }, l.labels?.hostname || l.labels?.instance || l.ip),
        h('span', { class: 'msg' }, highlight(l.value, st.text)));
    }));
    if (atBottom || st.scrollToEnd) { box.scrollTop = box.scrollHeight; st.scrollToEnd = false; }
  }

  async function load() {
    const end = new Date();
    const start = new Date(end.getTime() - st.span * 1000);
    const r = await get(`/datastores/${t.id}/logs` + query({ start: apiTime(start), end: apiTime(end), limit: 2000, job: st.job, ips: st.inst, databases: st.db }));
    st.lines = r.logs || [];
    let grew = false;
    for (const l of st.lines) if (l.labels?.job && !jobs.has(l.labels.job)) { jobs.add(l.labels.job); grew = true; }
    if (grew) setOptions(job, [{ value: '', label: 'All sources' }, ...[...jobs].sort().map((j) => ({ value: j, label: j }))]);
    paint();
  }

  function instances() {
    setOptions(inst, [{ value: '', label: 'All instances' }, ...(t.ds.instances || []).filter((i) => i.hostname).map((i) => ({ value: i.hostname, label: `${i.hostname} (${i.role === 'MASTER' ? 'primary' : 'replica'})` }))]);
  }
  instances();
  t.onChange(instances);

  let debounce = null;
  text.addEventListener('input', () => { st.text = text.value.trim(); clearTimeout(debounce); debounce = setTimeout(paint, 120); });
  level.addEventListener('change', () => { st.level = level.value; paint(); });
  for (const [el, k] of [[job, 'job'], [inst, 'inst'], [span, 'span']]) {
    el.addEventListener('change', () => { st[k] = k === 'span' ? Number(el.value) : el.value; st.scrollToEnd = true; load(); });
  }
  db.addEventListener('change', () => { st.db = db.value.trim(); st.scrollToEnd = true; load(); });
  st.scrollToEnd = true;
  const live = t.ctx.every(5000, async () => { if (st.live || !st.lines.length) await load(); });
  await live.first;
}
