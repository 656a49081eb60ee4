// Create a datastore with the choices the API offers: engine and version
// from the catalog, node count within the engine's rule, a flavor from the
// flavors list or a custom size within the limits, pooler, firewall,
// backup retention and the Redis password.

import { h, replace } from '../dom.js';
import { post } from '../api.js';
import { catalog, flavorText } from '../catalog.js';
import { ENGINES, engineLabel, NODES } from '../format.js';
import { go } from '../nav.js';
import { queueFirewall } from '../pending.js';
import { busy, button, field, input, panel, segmented, select, setOptions, showError } from '../ui.js';

/** uuid makes a random UUID (crypto.randomUUID needs a secure context; this does not). */
export function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** parseIPs splits a firewall list typed one per line or comma-separated. */
export function parseIPs(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

export async function createView(ctx) {
  const cat = await catalog();
  const engines = [...new Set(cat.types.map((t) => t.engine))];
  const st = { engine: engines[0] || 'postgresql', sizing: 'flavor' };

  const name = input({ name: 'name', required: true, maxlength: 255, placeholder: 'e.g. orders' });
  const version = select([], { name: 'version' });
  const nodes = select([], { name: 'node_count' });
  const flavor = select([], { name: 'flavor_id' });
  const vcpus = input({ type: 'number', name: 'vcpus', value: '1', inputmode: 'numeric' });
  const ram = input({ type: 'number', name: 'ram', value: '2048', step: '256', inputmode: 'numeric' });
  const disk = input({ type: 'number', name: 'disk', value: '10', inputmode: 'numeric' });
  const redisPassword = input({ type: 'password', name: 'redis_password', autocomplete: 'new-password' });
  const poolerMode = select([{ value: 'transaction', label: 'Transaction' }, { value: 'session', label: 'Session' }, { value: 'statement', label: 'Statement' }], { name: 'pooler_mode' });
  const poolerSize = input({ type: 'number', name: 'pooler_size', value: '30', min: '1', max: '500' });
  const firewall = h('textarea', { name: 'firewall', rows: 3, placeholder: '203.0.113.10\n198.51.100.0/24' });
  const retention = input({ type: 'number', name: 'backup_retention_days', value: '7', min: '1' });
  const subnet = input({ name: 'subnet_id', value: uuid(), class: 'mono' });

  const engineCards = h('div', { class: 'cards', role: 'radiogroup', 'aria-label': 'Engine' });
  const flavorBox = h('div');
  const customBox = h('div', { class: 'form-row' });
  const engineOpts = h('div', { class: 'form' });
  const submit = button('Create datastore', { type: 'submit', kind: 'primary' });

  const form = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'form-error', role: 'alert' }),
    panel('Engine', {}, h('div', { class: 'form' }, engineCards,
      h('div', { class: 'form-row' }, field('Version', version, { names: ['type_id'] }), field('Name', name, { names: ['name'] })))),
    panel('Nodes and size', {}, h('div', { class: 'form' },
      h('div', { class: 'form-row' }, field('Nodes', nodes, { names: ['node_count'], help: 'One primary; the others are replicas.' })),
      segmented([{ value: 'flavor', label: 'Flavor' }, { value: 'custom', label: 'Custom size' }], st.sizing, (v) => { st.sizing = v; sizing(); }, 'Size'),
      flavorBox, customBox)),
    panel('Options', {}, engineOpts),
    panel('Network and backups', {}, h('div', { class: 'form' },
      field('Firewall', firewall, { names: ['firewall', 'ips'], help: 'Addresses or CIDR networks allowed to connect, one per line. Empty: every address may connect. Applied as soon as the datastore is active.' }),
      h('div', { class: 'form-row' },
        field('Backup retention (days)', retention, { names: ['backup_retention_days'] }),
        field('Subnet ID', subnet, { names: ['subnet_id'], help: 'The network the nodes join.' })))),
    h('div', { class: 'actions-row' }, submit, h('a', { class: 'button', href: '#/datastores' }, 'Cancel')));

  flavorBox.append(field('Flavor', flavor, { names: ['flavor_id', 'flavor'] }));
  customBox.append(field('vCPUs', vcpus, { names: ['flavor.vcpus'] }), field('RAM (MB)', ram, { names: ['flavor.ram'] }), field('Disk (GB)', disk, { names: ['flavor.disk'] }));

  replace(ctx.root,
    h('div', { class: 'page-head' }, h('div', { class: 'titles' },
      h('div', { class: 'crumbs' }, h('a', { href: '#/datastores' }, 'Datastores'), ' / '), h('h1', null, 'Create a datastore'))),
    h('div', { class: 'create' }, form));

  function engineChanged() {
    for (const c of engineCards.children) c.setAttribute('aria-checked', String(c.dataset.engine === st.engine));
    const types = cat.types.filter((t) => t.engine === st.engine);
    setOptions(version, types.map((t) => ({ value: t.id, label: `${engineLabel(t.engine)} ${t.version}` })));
    setOptions(nodes, (NODES[st.engine] || [1]).map((n) => ({ value: n, label: n === 1 ? '1 node' : `${n} nodes` })));
    typeChanged();
    const opts = [];
    if (st.engine === 'redis') {
      opts.push(field('Redis password', redisPassword, { names: ['redis_password'], help: '8 to 128 characters with a lower-case letter, an upper-case letter and a digit; no spaces, quotes or backslashes.' }));
    }
    if (st.engine === 'postgresql') {
      opts.push(h('div', { class: 'form-row' },
        field('Pooler mode', poolerMode, { names: ['pooler.mode'], help: 'PgBouncer in front of the primary.' }),
        field('Pooler size', poolerSize, { names: ['pooler.size'] })));
    }
    if (!opts.length) opts.push(h('p', { class: 'muted' }, `${engineLabel(st.engine)} has no options to choose at creation.`));
    replace(engineOpts, opts);
  }

  function typeChanged() {
    const fl = cat.flavors.filter((f) => !f.datastore_type_ids?.length || f.datastore_type_ids.includes(version.value));
    setOptions(flavor, fl.map((f) => ({ value: f.id, label: `${f.name} — ${flavorText(f)}` })));
    const l = cat.limits;
    const e = st.engine;
    if (l) {
      Object.assign(vcpus, { min: l.vcpus_min[e], max: l.vcpus_max[e] });
      Object.assign(ram, { min: l.ram_min[e], max: l.ram_max[e] });
      Object.assign(disk, { min: l.disk_local_min[e], max: l.disk_local_max[e] });
      const hint = (el, unit) => `${el.min}–${el.max}${unit}`;
      customBox.querySelectorAll('.help').forEach((x) => x.remove());
      [[vcpus, ''], [ram, ' MB'], [disk, ' GB']].forEach(([el, unit]) => {
        el.closest('.field').insertBefore(h('div', { class: 'help' }, 'Allowed: ' + hint(el, unit)), el.nextSibling);
      });
    }
  }

  function sizing() {
    flavorBox.hidden = st.sizing !== 'flavor';
    customBox.hidden = st.sizing !== 'custom';
  }

  for (const e of engines) {
    engineCards.append(h('button', {
      type: 'button', class: 'card-choice', role: 'radio', dataset: { engine: e }, 'aria-checked': 'false',
      onclick: () => { st.engine = e; engineChanged(); },
    }, h('span', { class: 'engine' }, h('span', { class: 'engine-dot ' + e, 'aria-hidden': 'true' }, ENGINES[e]?.short || '?'), h('span', { class: 't' }, engineLabel(e))),
    h('span', { class: 'd' }, ENGINES[e]?.about || '')));
  }
  engineCards.addEventListener('keydown', (ev) => {
    const i = engines.indexOf(st.engine);
    const d = ev.key === 'ArrowRight' || ev.key === 'ArrowDown' ? 1 : ev.key === 'ArrowLeft' || ev.key === 'ArrowUp' ? -1 : 0;
    if (!d) return;
    ev.preventDefault();
    st.engine = engines[(i + d + engines.length) % engines.length];
    engineChanged();
    engineCards.querySelector(`[data-engine="${st.engine}"]`).focus();
  });
  version.addEventListener('change', typeChanged);
  engineChanged();
  sizing();

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const ds = {
      name: name.value.trim(), type_id: version.value, node_count: Number(nodes.value), subnet_id: subnet.value.trim(),
      backup_retention_days: Number(retention.value) || undefined,
    };
    if (st.sizing === 'flavor') ds.flavor_id = flavor.value;
    else ds.flavor = { vcpus: Number(vcpus.value), ram: Number(ram.value), disk: Number(disk.value) };
    if (st.engine === 'redis') ds.redis_password = redisPassword.value;
    if (st.engine === 'postgresql') ds.pooler = { mode: poolerMode.value, size: Number(poolerSize.value) };
    const ips = parseIPs(firewall.value);
    try {
      const r = await busy(submit, () => post('/datastores', { datastore: ds }));
      if (ips.length) queueFirewall(r.datastore.id, ips);
      go(`/datastores/${r.datastore.id}`);
    } catch (err) {
      showError(form, err);
    }
  });
  queueMicrotask(() => name.focus());
  ctx.ready();
}
