// Time-series charts drawn with uPlot (vendored under vendor/uplot, loaded
// only when a chart is first shown, so the first page does not wait for it).

import { h, replace } from './dom.js';

let lib = null;

/** loadUPlot imports uPlot and its stylesheet once. */
export function loadUPlot() {
  if (!lib) {
    const css = h('link', { rel: 'stylesheet', href: document.documentElement.dataset.assets + '/vendor/uplot/uPlot.min.css' });
    document.head.append(css);
    lib = import('../vendor/uplot/uPlot.esm.js').then((m) => m.default);
  }
  return lib;
}

const COLORS = ['#2f5bea', '#12805c', '#d9480f', '#7048e8', '#c2255c', '#0b7285', '#e67700', '#5c940d'];

/**
 * chart draws series [{label, timestamps, values}] into a figure with a title;
 * fmt formats values on the axis and in the legend. The figure keeps its size
 * while data loads, and data-samples tells how many points it shows.
 */
export class Chart {
  constructor(title, fmt) {
    this.fmt = fmt;
    this.plot = h('div', { class: 'plot' });
    this.last = h('span', { class: 'last' });
    this.el = h('figure', { class: 'chart', 'aria-label': title, dataset: { samples: '0', metric: title } },
      h('h3', null, h('span', null, title), this.last), this.plot);
    this.u = null;
    this.key = '';
    replace(this.plot, h('div', { class: 'nodata' }, 'Loading…'));
  }

  async set(series, range) {
    const U = await loadUPlot();
    const withData = series.filter((s) => s.timestamps && s.timestamps.length);
    const n = withData.reduce((a, s) => a + s.timestamps.length, 0);
    this.el.dataset.samples = String(n);
    if (!withData.length) {
      if (this.u) { this.u.destroy(); this.u = null; }
      this.key = '';
      replace(this.plot, h('div', { class: 'nodata' }, 'No samples in this range yet'));
      this.last.textContent = '';
      return;
    }
    const data = U.join(withData.map((s) => [s.timestamps, s.values]));
    const key = withData.map((s) => s.label).join('\u0000');
    const lastVals = withData.map((s) => s.values[s.values.length - 1]).filter((v) => v != null);
    this.last.textContent = lastVals.length === 1 ? 'now ' + this.fmt(lastVals[0]) : '';
    const width = Math.max(240, this.plot.clientWidth || 480);
    if (this.u && this.key === key) {
      this.u.setData(data, false);
      this.u.setScale('x', { min: range.from, max: range.to });
      return;
    }
    if (this.u) this.u.destroy();
    replace(this.plot);
    this.key = key;
    const fmt = this.fmt;
    this.u = new U({
      width, height: 200,
      tzDate: (ts) => U.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      padding: [8, 8, 0, 0],
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true, min: range.from, max: range.to }, y: { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: '#747d92', grid: { stroke: '#eef0f4' }, ticks: { stroke: '#e2e5eb' } },
        { stroke: '#747d92', grid: { stroke: '#eef0f4' }, ticks: { stroke: '#e2e5eb' }, size: 64, values: (u, vals) => vals.map((v) => fmt(v)) },
      ],
      series: [{ value: (u, v) => (v == null ? '—' : new Date(v * 1000).toISOString().slice(11, 19) + ' UTC') },
        ...withData.map((s, i) => ({
          label: s.label, stroke: COLORS[i % COLORS.length], width: 1.6, spanGaps: false,
          fill: withData.length === 1 ? COLORS[0] + '14' : undefined, points: { size: 4 },
          value: (u, v) => (v == null ? '—' : fmt(v)),
        }))],
    }, data, this.plot);
  }

  resize() {
    if (this.u) this.u.setSize({ width: Math.max(240, this.plot.clientWidth), height: 200 });
  }

  destroy() {
    if (this.u) this.u.destroy();
  }
}
