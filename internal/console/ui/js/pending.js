// Firewall rules chosen when a datastore is created. The API's create
// request has no firewall field and a firewall can only be changed on an
// ACTIVE datastore, so the console applies the rules itself as soon as the
// new datastore turns ACTIVE (while this tab is open; the rules are kept
// in the tab's session until then).

import { get, put } from './api.js';
import { toast } from './ui.js';

const KEY = 'dbaasd.console.pending-firewall';

function load() {
  try { return JSON.parse(sessionStorage.getItem(KEY)) || {}; } catch { return {}; }
}

function save(m) {
  if (Object.keys(m).length) sessionStorage.setItem(KEY, JSON.stringify(m));
  else sessionStorage.removeItem(KEY);
}

/** pendingFirewall returns the rules waiting for a datastore, or null. */
export function pendingFirewall(id) {
  return load()[id] || null;
}

let timer = null;

/** queueFirewall records rules to apply once the datastore is ACTIVE. */
export function queueFirewall(id, ips) {
  const m = load();
  m[id] = ips;
  save(m);
  watch();
}

/** watch applies queued rules as their datastores turn ACTIVE. */
export function watch() {
  if (timer || !Object.keys(load()).length) return;
  timer = setTimeout(async () => {
    timer = null;
    const done = [];
    for (const [id, ips] of Object.entries(load())) {
      try {
        const ds = (await get('/datastores/' + id)).datastore;
        if (ds.status === 'ACTIVE') {
          await put(`/datastores/${id}/firewall`, { firewall: { ips } });
          done.push(id);
          toast(`Firewall of ${ds.name} set to ${ips.join(', ')}`);
        } else if (ds.status === 'ERROR') {
          done.push(id);
          toast(`${ds.name} failed to start; its firewall rules were not applied`, 'bad');
        }
      } catch (e) {
        if (e.status === 404 || e.status === 400 || e.status === 401) {
          done.push(id);
          if (e.status === 400) toast('Firewall rules were not applied: ' + e.message, 'bad');
        }
      }
    }
    // Rules queued meanwhile stay; only the ones done are dropped.
    const now = load();
    for (const id of done) delete now[id];
    save(now);
    watch();
  }, 2000);
}
