// Formatting of what the API returns. Times are shown in UTC, as the API
// gives them, and marked so.

/** parseTime reads an API timestamp (UTC, "YYYY-MM-DDTHH:MM:SS") as a Date. */
export function parseTime(s) {
  if (!s) return null;
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : s + 'Z');
  return isNaN(d) ? null : d;
}

/** apiTime formats a Date as the API's timestamp. */
export function apiTime(d) {
  return d.toISOString().slice(0, 19);
}

const pad = (n) => String(n).padStart(2, '0');

/** when formats a time as "2026-05-01 14:03:22 UTC" (or "—"). */
export function when(s) {
  const d = s instanceof Date ? s : parseTime(s);
  if (!d) return '—';
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

/** ago formats a time relative to now ("3 min ago"). */
export function ago(s) {
  const d = s instanceof Date ? s : parseTime(s);
  if (!d) return '—';
  const sec = Math.round((Date.now() - d.getTime()) / 1000);
  if (sec < 45) return 'just now';
  if (sec < 3600) return `${Math.round(sec / 60)} min ago`;
  if (sec < 86400) return `${Math.round(sec / 3600)} h ago`;
  return `${Math.round(sec / 86400)} d ago`;
}

/** duration formats seconds as "1 min 5 s". */
export function duration(sec) {
  if (sec == null || isNaN(sec)) return '—';
  sec = Math.max(0, Math.round(sec));
  if (sec < 60) return `${sec} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ${sec % 60} s`;
  return `${Math.floor(sec / 3600)} h ${Math.floor((sec % 3600) / 60)} min`;
}

/** bytes formats a byte count ("1.5 GB"). */
export function bytes(n) {
  if (n == null || isNaN(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  n = Number(n);
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

/** number formats a number with up to 2 decimals. */
export function number(n) {
  if (n == null || isNaN(n)) return '—';
  const a = Math.abs(n);
  if (a >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (a >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  if (Number.isInteger(n)) return String(n);
  return n.toFixed(a < 1 ? 3 : 2);
}

export const ENGINES = {
  postgresql: { label: 'PostgreSQL', short: 'PG', about: 'Relational database with streaming replicas and a connection pooler' },
  mysql_native: { label: 'MySQL semi-sync', short: 'My', about: 'MariaDB primary with semi-synchronous replicas' },
  mysql: { label: 'MySQL sync', short: 'My', about: 'MariaDB Galera multi-primary cluster' },
  redis: { label: 'Redis', short: 'R', about: 'In-memory store with Sentinel failover' },
  kafka: { label: 'Kafka', short: 'K', about: 'Kafka protocol broker with topics and ACLs' },
};

/** engineLabel names an engine for people. */
export function engineLabel(engine) {
  return ENGINES[engine]?.label || engine || '—';
}

/** Node-count rules per engine (from the API's description of node_count). */
export const NODES = {
  postgresql: [1, 2, 3, 4, 5, 6],
  mysql_native: [1, 2, 3],
  mysql: [1, 3],
  redis: [1, 2, 3],
  kafka: [1],
};

const BUSY = new Set(['PENDING_CREATE', 'PENDING_UPDATE', 'PENDING_DELETE', 'RESIZING', 'PENDING', 'RUNNING']);
const BAD = new Set(['ERROR', 'DOWN', 'DISK_FULL', 'DELETED']);

/** statusClass maps a status to a badge style. */
export function statusClass(status) {
  if (status === 'ACTIVE' || status === 'SUCCESS') return 'ok';
  if (BUSY.has(status)) return 'busy';
  if (status === 'DEGRADED') return 'warn';
  if (BAD.has(status)) return 'bad';
  return '';
}

/** isBusy reports whether a status means work is under way. */
export function isBusy(status) {
  return BUSY.has(status);
}

/** statusText turns "PENDING_CREATE" into "Pending create". */
export function statusText(status) {
  if (!status) return '—';
  const s = status.replace(/_/g, ' ').toLowerCase();
  return s.charAt(0).toUpperCase() + s.slice(1);
}
