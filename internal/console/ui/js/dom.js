// Building the page. Every string a caller passes becomes a text node or an
// attribute value, never markup: names that tenants chose (datastores,
// users, databases, topics, log lines) cannot turn into HTML. The page's
// Content Security Policy requires Trusted Types, so a string assigned to
// innerHTML anywhere would throw instead of rendering.

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'indeterminate', 'open']);

/** h builds an element: h('a', {href: '#/x', class: 'c', onclick: fn}, 'text', child). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) setProps(el, props);
  append(el, children);
  return el;
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** append adds children: strings and numbers as text, arrays flattened, null skipped. */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** replace empties el and appends children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const SVG = 'http://www.w3.org/2000/svg';
const ICONS = {
  plus: 'M12 5v14M5 12h14',
  copy: 'M9 9h10v10H9zM5 15V5h10',
  trash: 'M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3',
  refresh: 'M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7',
  db: 'M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3zM4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3',
  key: 'M14 10a4 4 0 1 1-8 0 4 4 0 0 1 8 0zM13 12l7 7M17 16l2-2',
  check: 'M5 12l5 5L20 7',
  back: 'M15 18l-6-6 6-6',
  search: 'M11 18a7 7 0 1 1 0-14 7 7 0 0 1 0 14zM16 16l5 5',
  lock: 'M6 11h12v9H6zM8 11V8a4 4 0 0 1 8 0v3',
  chart: 'M4 20V4M4 20h16M8 16l4-5 3 3 5-7',
  list: 'M8 6h12M8 12h12M8 18h12M4 6h.01M4 12h.01M4 18h.01',
};

/** icon returns an inline SVG icon (drawn from the fixed paths above). */
export function icon(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS(SVG, 'path');
  p.setAttribute('d', ICONS[name] || '');
  svg.append(p);
  return svg;
}

/** highlight returns text with each occurrence of needle wrapped in <mark> (as nodes, not markup). */
export function highlight(text, needle) {
  if (!needle) return [text];
  const out = [];
  const low = text.toLowerCase();
  const n = needle.toLowerCase();
  let i = 0;
  for (;;) {
    const j = low.indexOf(n, i);
    if (j < 0) break;
    if (j > i) out.push(text.slice(i, j));
    out.push(h('mark', null, text.slice(j, j + n.length)));
    i = j + n.length;
  }
  if (i < text.length) out.push(text.slice(i));
  return out;
}
