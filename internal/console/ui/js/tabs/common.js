// Helpers the datastore tabs share.

import { get, query } from '../api.js';
import { isBusy } from '../format.js';

/**
 * liveObjects reads a list of the datastore's objects (GET path?datastore_id=…)
 * and calls paint(items) now and on every refresh (every 1.5 s while one of them
 * changes, else every 6 s). It returns {now()} to refresh at once.
 */
export function liveObjects(t, path, key, paint, extra = {}) {
  let items = null;
  return t.ctx.every(() => (items && items.some((x) => isBusy(x.status)) ? 1500 : 6000), async () => {
    const r = await get(path + query({ datastore_id: t.id, ...extra }));
    items = (r[key] || []).slice().sort((a, b) => (a.created_at || '').localeCompare(b.created_at || '') || (a.name || '').localeCompare(b.name || ''));
    if (t.ctx.alive) paint(items);
  });
}

/** byId indexes a list by id. */
export function byId(list) {
  return new Map((list || []).map((x) => [x.id, x]));
}

/** password makes a random password with upper- and lower-case letters and digits. */
export function password(n = 20) {
  const sets = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789'];
  const all = sets.join('');
  const rnd = crypto.getRandomValues(new Uint32Array(n));
  const out = [...rnd].map((v) => all[v % all.length]);
  sets.forEach((s, i) => { out[i] = s[rnd[i] % s.length]; });
  return out.sort(() => (crypto.getRandomValues(new Uint8Array(1))[0] & 1) - 0.5).join('');
}
