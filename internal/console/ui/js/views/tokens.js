// Prometheus metrics tokens: create (the value is shown once), rename,
// list, delete; with the scrape configuration to copy.

import { h, replace } from '../dom.js';
import { del, get, post, put } from '../api.js';
import { ago, when } from '../format.js';
import { button, confirmDelete, copyButton, dialog, empty, field, input, panel, table, toast } from '../ui.js';

export async function tokensView(ctx) {
  const box = h('div');
  const add = button('Create token', { kind: 'primary', icon: 'plus', onclick: () => create() });
  const scrape = `scrape_configs:
  - job_name: dbaas
    metrics_path: /prometheus/metrics
    authorization: {credentials: "<token value>"}
    static_configs: [{targets: ["${location.host}"]}]`;
  replace(ctx.root,
    h('div', { class: 'page-head' }, h('div', { class: 'titles' }, h('h1', null, 'Prometheus metrics tokens'),
      h('div', { class: 'sub' }, 'Let your Prometheus scrape the metrics of every datastore of this project.')), add),
    panel('Tokens', { flush: true }, box),
    panel('Scrape configuration', {}, h('div', { class: 'conn-row' }, h('code', { class: 'block' }, scrape), copyButton(scrape))));

  async function create() {
    const name = input({ name: 'name', required: true, placeholder: 'prometheus-prod' });
    const ok = await dialog({
      title: 'Create a metrics token', submitLabel: 'Create',
      body: h('div', { class: 'form' }, field('Name', name, { names: ['prometheus-metrics-token.name', 'name'] })),
      submit: () => post('/prometheus-metrics-tokens', { 'prometheus-metrics-token': { name: name.value.trim() } }),
    });
    if (!ok) return;
    const tok = ok['prometheus-metrics-token'];
    live.now();
    await dialog({
      title: `Token ${tok.name}`, submitLabel: 'Done', cancelLabel: null,
      body: h('div', { class: 'form' },
        h('div', { class: 'warning' }, 'Copy the value now: it is shown only this once.'),
        h('div', { class: 'conn-row' }, h('code', { class: 'secret', dataset: { secret: 'token' } }, tok.value), copyButton(tok.value))),
    });
  }

  async function rename(tok) {
    const name = input({ name: 'name', value: tok.name });
    const ok = await dialog({
      title: 'Rename token', submitLabel: 'Rename', body: h('div', { class: 'form' }, field('Name', name, { names: ['prometheus-metrics-token.name', 'name'] })),
      submit: () => put('/prometheus-metrics-tokens/' + tok.id, { 'prometheus-metrics-token': { name: name.value.trim() } }),
    });
    if (ok) live.now();
  }

  const cols = [
    { label: 'Name', cell: (x) => h('span', { class: 'name' }, x.name) },
    { label: 'ID', class: 'hide-sm', cell: (x) => h('span', { class: 'mono small' }, x.id) },
    { label: 'Created', cell: (x) => h('span', { title: when(x.created_at) }, ago(x.created_at)) },
    {
      label: '', class: 'actions', cell: (x) => [
        button('Rename', { small: true, onclick: () => rename(x) }),
        button('Delete', {
          small: true, kind: 'danger', ariaLabel: `Delete ${x.name}`,
          onclick: () => confirmDelete({
            title: `Delete token ${x.name}?`, text: 'A Prometheus that uses it gets 401 from now on.',
            run: async () => { await del('/prometheus-metrics-tokens/' + x.id); toast('Token deleted'); live.now(); },
          }),
        }),
      ],
    },
  ];
  replace(box, table(cols, null, { skeleton: 2 }));
  const live = ctx.every(30000, async () => {
    const r = await get('/prometheus-metrics-tokens');
    const items = (r['prometheus-metrics-tokens'] || []).sort((a, b) => b.created_at.localeCompare(a.created_at));
    replace(box, table(cols, items, {
      rowData: (x) => ({ name: x.name }),
      empty: empty('No tokens yet', 'A token lets a Prometheus server read the metrics of this project\'s datastores at /prometheus/metrics.', button('Create token', { kind: 'primary', icon: 'plus', onclick: () => create() }), 'key'),
    }));
    ctx.ready();
  });
  await live.first;
}
