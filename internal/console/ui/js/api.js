// The console's only way to the server: the public API under /v1 and the
// identity login, with the user's token in the X-Auth-Token header. The
// token lives in sessionStorage (this tab only, gone when the tab closes)
// and is never put in a URL.

const KEY = 'dbaasd.console.session';

/** The signed-in session: {token, kind: 'identity'|'token', project, user, expires}. */
export const session = {
  get() {
    try { return JSON.parse(sessionStorage.getItem(KEY)) || null; } catch { return null; }
  },
  set(s) { sessionStorage.setItem(KEY, JSON.stringify(s)); },
  clear() { sessionStorage.removeItem(KEY); },
};

/** An error answer of the API: status, title and message, and the field it names. */
export class ApiError extends Error {
  constructor(status, title, message) {
    super(message || title || `HTTP ${status}`);
    this.status = status;
    this.title = title;
    this.field = fieldOf(this.message);
  }
}

/**
 * fieldOf returns the request field an error message names ("datastore.name: must
 * not be empty" → "datastore.name"), or "".
 */
export function fieldOf(message) {
  const m = /^([A-Za-z_][\w-]*(?:\.[\w-]+)*): /.exec(message || '');
  if (!m || m[1] === 'request body') return '';
  return m[1];
}

let onSignedOut = () => {};
/** whenSignedOut sets what happens when the server stops accepting the token. */
export function whenSignedOut(fn) { onSignedOut = fn; }

async function send(method, url, body, headers) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, 'Network error', 'dbaasd cannot be reached: ' + e.message);
  }
  return res;
}

async function errorOf(res) {
  let title = res.statusText, message = '';
  try {
    const j = await res.json();
    if (j && j.error) { title = j.error.title || title; message = j.error.message || ''; }
  } catch { /* not JSON */ }
  return new ApiError(res.status, title, message);
}

/** api calls /v1 + path and returns the decoded answer (null for 204). */
export async function api(method, path, body) {
  const s = session.get();
  const res = await send(method, '/v1' + path, body, s ? { 'X-Auth-Token': s.token } : {});
  if (res.status === 401 && s) {
    session.clear();
    onSignedOut('Your session has ended. Sign in again.');
  }
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return null;
  return res.json();
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path, body) => api('DELETE', path, body);

/** query builds "?a=1&b=2" from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}

/**
 * loginIdentity logs in at the identity service with a user's name, password and
 * domain, scoped to a project (or the user's default project), and starts a session.
 */
export async function loginIdentity({ name, password, domain, project }) {
  const auth = {
    identity: { methods: ['password'], password: { user: { name, password, domain: { name: domain || 'Default' } } } },
  };
  if (project) auth.scope = { project: { id: project } };
  const res = await send('POST', '/identity/v3/auth/tokens', { auth });
  if (!res.ok) throw await errorOf(res);
  const token = res.headers.get('X-Subject-Token');
  const body = await res.json();
  if (!token) throw new ApiError(500, 'Login failed', 'the identity service returned no token');
  const t = body.token || {};
  const s = { token, kind: 'identity', project: t.project?.id || project || '', user: t.user?.name || name, expires: t.expires_at || '' };
  session.set(s);
  return s;
}

/** loginToken starts a session with an API token, after checking the API accepts it. */
export async function loginToken(token) {
  token = token.trim();
  const res = await send('GET', '/v1/quotas', undefined, { 'X-Auth-Token': token });
  if (!res.ok) throw await errorOf(res);
  const s = { token, kind: 'token', project: '', user: 'API token', expires: '' };
  // The identity service tells which project a token belongs to.
  const who = await send('GET', '/identity/v3/auth/tokens?nocatalog', undefined, { 'X-Auth-Token': token, 'X-Subject-Token': token });
  if (who.ok) {
    const t = (await who.json()).token || {};
    s.project = t.project?.id || '';
    s.expires = t.expires_at || '';
  }
  session.set(s);
  return s;
}

/** logout forgets the session; a token the identity service issued is revoked too. */
export async function logout() {
  const s = session.get();
  session.clear();
  if (s && s.kind === 'identity') {
    try {
      await send('DELETE', '/identity/v3/auth/tokens', undefined, { 'X-Auth-Token': s.token, 'X-Subject-Token': s.token });
    } catch { /* the token expires anyway */ }
  }
}
