// Navigation between the console's pages (routes live in the URL's
// fragment, never with the token).

/** go navigates to a route ("/datastores"); going to the current route reloads it. */
export function go(path) {
  if (location.hash === '#' + path) window.dispatchEvent(new Event('hashchange'));
  else location.hash = '#' + path;
}

/** afterSignIn goes where the person was headed before signing in. */
export function afterSignIn() {
  const next = sessionStorage.getItem('dbaasd.console.next') || '/datastores';
  sessionStorage.removeItem('dbaasd.console.next');
  go(next === '/signin' ? '/datastores' : next);
}
