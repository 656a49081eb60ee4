// Overview: the datastore at a glance, how to connect (commands to copy
// for psql, mysql, redis-cli or a Kafka client) and its instances.

import { h, replace } from '../dom.js';
import { del, get, post, query } from '../api.js';
import { flavorText } from '../catalog.js';
import { bytes, statusText, when } from '../format.js';
import { badge, button, busy, copyButton, empty, field, panel, select, setOptions, table, toast } from '../ui.js';

/** addresses maps each instance to its address from the datastore's connection map. */
export function addresses(ds) {
  const out = new Map();
  let replica = 0;
  for (const i of ds.instances || []) {
    if (!i.ip || i.status === 'PENDING_DELETE') continue;
    if (i.role === 'MASTER') out.set(i.id, ds.connection?.master || '');
    else out.set(i.id, ds.connection?.[`replica-${++replica}`] || '');
  }
  return out;
}

/** splitAddr splits "host:port" (or "[v6]:port"). */
export function splitAddr(addr) {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(addr || '');
  return m ? { host: m[1], port: m[2] } : { host: addr || '', port: '' };
}

/** connectionStrings returns [{label, text}] for an engine, an address, a user and a database. */
export function connectionStrings(engine, addr, user, db) {
  const { host, port } = splitAddr(addr);
  const u = user || 'USER';
  switch (engine) {
    case 'postgresql': {
      const uri = `postgresql://${encodeURIComponent(u)}@${host.includes(':') ? `[${host}]` : host}:${port}/${encodeURIComponent(db || 'postgres')}?sslmode=disable`;
      return [
        { key: 'psql', label: 'psql', text: `psql "${uri}"`, note: 'psql asks for the password (or set PGPASSWORD).' },
        { key: 'uri', label: 'Connection URI', text: uri },
      ];
    }
    case 'mysql':
    case 'mysql_native':
      return [
        { key: 'mysql', label: 'mysql', text: `mysql -h ${host} -P ${port} -u ${u} -p${db ? ' ' + db : ''}`, note: 'mysql asks for the password (or set MYSQL_PWD).' },
        { key: 'uri', label: 'Connection URI', text: `mysql://${encodeURIComponent(u)}@${host}:${port}/${db ? encodeURIComponent(db) : ''}` },
      ];
    case 'redis':
      return [
        { key: 'redis-cli', label: 'redis-cli', text: `redis-cli -h ${host} -p ${port}`, note: 'Set REDISCLI_AUTH to the datastore\'s password first, or run AUTH in the client.' },
        { key: 'uri', label: 'Connection URI', text: `redis://${host}:${port}/0` },
      ];
    case 'kafka':
      return [
        { key: 'properties', label: 'Kafka client properties', text: `bootstrap.servers=${addr}\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\nsasl.username=${u}`, note: 'Add sasl.password (SCRAM-SHA-256 works too).' },
        { key: 'bootstrap', label: 'Bootstrap servers', text: addr },
      ];
    default:
      return [{ key: 'address', label: 'Address', text: addr }];
  }
}

export async function overviewTab(t) {
  const stats = h('div', { class: 'stats' });
  const connBox = h('div', { class: 'conn' });
  const instBox = h('div');
  const userSel = select([], { 'aria-label': 'User', name: 'conn-user' });
  const dbSel = select([], { 'aria-label': 'Database', name: 'conn-db' });
  const epSel = select([], { 'aria-label': 'Endpoint', name: 'conn-endpoint' });
  const pickers = h('div', { class: 'form-row' }, field('Endpoint', epSel));
  if (t.caps.users) pickers.append(field('User', userSel));
  if (t.caps.databases) pickers.append(field('Database', dbSel));

  replace(t.root,
    panel(null, { flush: true }, stats),
    h('div', { class: 'grid' },
      panel('Connect', { hint: 'passwords are never shown: the API does not return them' }, h('div', { class: 'form' }, pickers, connBox)),
      panel('Instances', { flush: true }, instBox)));

  let users = [];
  let dbs = [];
  async function loadObjects() {
    const [u, d] = await Promise.all([
      t.caps.users ? get('/users' + query({ datastore_id: t.id })) : { users: [] },
      t.caps.databases ? get('/databases' + query({ datastore_id: t.id })) : { databases: [] },
    ]);
    users = u.users || [];
    dbs = d.databases || [];
    setOptions(userSel, users.length ? users.map((x) => ({ value: x.name, label: x.name })) : [{ value: '', label: 'no users yet' }]);
    setOptions(dbSel, dbs.length ? dbs.map((x) => ({ value: x.name, label: x.name })) : [{ value: '', label: t.engine === 'postgresql' ? 'postgres' : 'none' }]);
  }

  function paintConn(ds) {
    const conn = ds.connection || {};
    const keys = Object.keys(conn).sort((a, b) => (a === 'master' ? -1 : b === 'master' ? 1 : a.localeCompare(b)));
    const label = (k) => (k === 'master' ? 'Primary (read-write)' : k === 'pooler' ? 'Pooler (PgBouncer)' : k.startsWith('replica') ? `Replica ${k.slice(8)} (read-only)` : k);
    setOptions(epSel, keys.length ? keys.map((k) => ({ value: k, label: `${label(k)} — ${conn[k]}` })) : [{ value: '', label: 'not running yet' }]);
    if (!keys.length) {
      replace(connBox, h('p', { class: 'muted' }, 'The addresses appear once the datastore is running.'));
      return;
    }
    const addr = conn[epSel.value] || conn.master;
    replace(connBox, connectionStrings(t.engine, addr, userSel.value, dbSel.value).map((c) => h('div', { class: 'field' },
      h('div', { class: 'label' }, c.label),
      h('div', { class: 'conn-row' }, h('code', { dataset: { conn: c.key }, tabindex: '0' }, c.text), copyButton(() => c.text)),
      c.note ? h('div', { class: 'help' }, c.note) : null)));
  }
  for (const s of [epSel, userSel, dbSel]) s.addEventListener('change', () => paintConn(t.ds));

  function paintStats(ds) {
    const stat = (k, v) => h('div', { class: 'stat' }, h('div', { class: 'k' }, k), h('div', { class: 'v' }, v));
    replace(stats,
      stat('Status', badge(ds.status)),
      stat('Nodes', String(ds.node_count)),
      stat('Flavor', flavorText(ds.flavor)),
      stat('Disk used', bytes(ds.disk_used)),
      stat('Backups kept', t.caps.backups ? `${ds.backup_retention_days} days` : '—'),
      stat('Protection', ds.is_protected ? 'On' : 'Off'),
      stat('Created', when(ds.created_at)));
  }

  function paintInstances(ds) {
    const addr = addresses(ds);
    replace(instBox, table([
      { label: 'Node', cell: (i) => [h('div', { class: 'name mono' }, i.hostname || '—'), h('div', { class: 'sub' }, i.availability_zone)] },
      { label: 'Role', cell: (i) => h('span', { class: 'tag' }, i.role === 'MASTER' ? 'primary' : i.role === 'REPLICA' ? 'replica' : statusText(i.role)) },
      { label: 'Status', cell: (i) => badge(i.status) },
      { label: 'Address', cell: (i) => [h('div', { class: 'mono small' }, addr.get(i.id) || i.ip || '—'), i.floating_ip ? h('div', { class: 'sub' }, 'public ', i.floating_ip) : null] },
      {
        label: '', class: 'actions', cell: (i) => (i.status === 'ACTIVE' && ds.status === 'ACTIVE'
          ? button(i.floating_ip ? 'Remove public IP' : 'Add public IP', {
            small: true, onclick: (e) => busy(e.currentTarget, async () => {
              try {
                const body = { floating_ip: { instance_id: i.id } };
                if (i.floating_ip) await del('/floating-ips', body); else await post('/floating-ips', body);
                await t.reload();
              } catch (err) { toast(err.message, 'bad'); }
            }),
          }) : null),
      },
    ], ds.instances || [], { empty: empty('No instances', '') }));
  }

  // Everything the datastore itself gives is painted at once; the user and
  // database choices fill in after, without moving anything.
  t.onChange((ds) => {
    paintStats(ds);
    paintInstances(ds);
    paintConn(ds);
  });
  await loadObjects();
  paintConn(t.ds);
  t.ctx.every(10000, async () => { await loadObjects(); paintConn(t.ds); }, { wait: true });
}
