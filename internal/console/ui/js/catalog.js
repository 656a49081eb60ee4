// What the API offers to choose from, read once per page load: datastore
// types, flavors and limits.

import { get } from './api.js';

let cache = null;

/** catalog returns {types, flavors, limits, typeById}. */
export function catalog() {
  if (!cache) {
    cache = Promise.all([get('/datastore-types'), get('/flavors'), get('/limits')]).then(([t, f, l]) => {
      const types = t['datastore-types'] || [];
      const order = ['postgresql', 'mysql_native', 'mysql', 'redis', 'kafka'];
      types.sort((a, b) => (order.indexOf(a.engine) - order.indexOf(b.engine)) || b.version.localeCompare(a.version, undefined, { numeric: true }));
      const flavors = (f.flavors || []).slice().sort((a, b) => a.vcpus - b.vcpus || a.ram - b.ram || a.disk - b.disk);
      return { types, flavors, limits: (l.limits || [])[0] || null, typeById: new Map(types.map((x) => [x.id, x])) };
    });
    cache.catch(() => { cache = null; });
  }
  return cache;
}

/** flavorText describes a node size: "2 vCPU · 4 GB RAM · 32 GB disk". */
export function flavorText(f) {
  if (!f) return '—';
  const ram = f.ram >= 1024 ? `${+(f.ram / 1024).toFixed(1)} GB` : `${f.ram} MB`;
  return `${f.vcpus} vCPU · ${ram} RAM · ${f.disk} GB disk`;
}
