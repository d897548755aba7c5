// Line charts over the metrics API's series, drawn with the vendored uPlot (canvas: 1,000 lines stay fast).
//
// A chart takes "lines": [{id, label, best, x: 'step'|'epoch'|'index', points: [[x, value], ...]}].
// Lines are aligned on the union of their x values (uPlot's data layout), gaps spanned, so
// downsampled series whose buckets kept different x values still draw as continuous lines.
import uPlot from './vendor/uplot/uPlot.esm.js';
import { h } from './dom.js';

const PALETTE = ['#4e79a7', '#59a14f', '#9c755f', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#bab0ac', '#86bcb6', '#8cd17d'];
const BEST_COLOR = '#e15759';
const TABLE_ROWS = 2000; // the text alternative lists at most this many points
let cssAdded = false;
let firstDrawn = false;

function addCss() {
  if (cssAdded) return;
  cssAdded = true;
  document.head.appendChild(h('link', { rel: 'stylesheet', href: '/static/vendor/uplot/uPlot.min.css' }));
  document.head.appendChild(h('link', { rel: 'stylesheet', href: '/static/charts.css' }));
}

// The points to ask the server for: one per pixel of the plot, fewer when many lines share it.
// About 30,000 points a chart: 1,000 trials get 30 each (each bucket's min and max), which the
// server answers from its blocks of 64 points without reading the points, and no one can tell
// 1,000 overlaid lines of 30 points from lines of 1,000 at this size.
export function pointsFor(width, lines = 1) {
  const px = Math.max(64, Math.floor(width || 600));
  const budget = Math.floor(30000 / Math.max(1, lines));
  return Math.max(16, Math.min(px, budget, 10000));
}

// Metric series → chart lines: one per trial (the job's own series when there is no trial).
export function seriesToLines(series, best, labelOf = (s) => s.trial_id ?? 'job') {
  return series.map((s) => ({
    id: `${s.trial_id ?? ''}|${s.category}|${s.key}`,
    label: labelOf(s),
    best: best != null && s.trial_id === best,
    x: s.x,
    count: s.count,
    points: s.points,
  }));
}

function colorOf(line, i, many) {
  return line.best ? BEST_COLOR : PALETTE[i % PALETTE.length] + (many ? '66' : '');
}

function aligned(lines, logScale) {
  const xs = new Set();
  for (const line of lines) for (const p of line.points) xs.add(p[0]);
  const xArr = Float64Array.from(xs).sort();
  const at = new Map();
  xArr.forEach((x, i) => at.set(x, i));
  const data = [xArr];
  for (const line of lines) {
    const ys = new Array(xArr.length).fill(null);
    for (const [x, v] of line.points) ys[at.get(x)] = logScale && !(v > 0) ? null : v;
    data.push(ys);
  }
  return data;
}

// A chart element with its controls; update(lines) redraws it. Options: title, label (accessible name).
export function lineChart({ title, label, xKinds = [], onX = null, height = 260 }) {
  addCss();
  let lines = [];
  let plot = null;
  let logScale = false;
  let showTable = false;
  let xKind = null;

  const plotHost = h('div', { class: 'chart-plot' });
  const legend = h('ul', { class: 'chart-legend', 'aria-label': `legend of ${title}` });
  const tableHost = h('div', { class: 'chart-table', hidden: true });
  const xSelect = h('select', { class: 'chart-x', 'aria-label': 'x axis', onchange: () => onX && onX(xSelect.value) });
  const logBox = h('input', { type: 'checkbox', class: 'chart-log', onchange: () => { logScale = logBox.checked; draw(); } });
  const tableButton = h('button', {
    type: 'button', class: 'chart-table-toggle', 'aria-pressed': 'false', text: 'data as a table',
    onclick: () => {
      showTable = !showTable;
      tableButton.setAttribute('aria-pressed', String(showTable));
      tableHost.hidden = !showTable;
      if (showTable) renderTable();
    },
  });
  const el = h('figure', { class: 'chart', role: 'group', 'aria-label': label || title, 'data-series': '0' },
    h('figcaption', { class: 'chart-head' },
      h('span', { class: 'chart-title', text: title }),
      h('span', { class: 'chart-controls' },
        h('label', {}, 'x ', xSelect),
        h('label', {}, logBox, ' log scale'),
        tableButton)),
    plotHost, legend, tableHost);

  function setXKinds(kinds, current) {
    xSelect.replaceChildren(...kinds.map((k) => h('option', { value: k, text: k })));
    if (current) xSelect.value = current;
    xSelect.disabled = kinds.length < 2;
  }
  setXKinds(xKinds.length ? xKinds : ['step'], null);

  function ordered() {
    // The best line is drawn last, so it lies on top of the others.
    return [...lines.filter((l) => !l.best), ...lines.filter((l) => l.best)];
  }

  function width() {
    return Math.max(200, plotHost.clientWidth || el.clientWidth || 600);
  }

  function draw() {
    const drawn = ordered();
    const many = drawn.length > 50;
    const series = [{ label: xKind || 'x' }];
    drawn.forEach((line, i) => series.push({
      label: String(line.label),
      stroke: colorOf(line, i, many),
      width: line.best ? 3 : 1,
      spanGaps: true,
      points: { show: false },
    }));
    const opts = {
      width: width(),
      height,
      series,
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, points: { show: false } },
      scales: { x: { time: false }, y: logScale ? { distr: 3 } : {} },
      axes: [{ label: xKind || '' }, {}],
      hooks: {
        draw: [() => {
          el.dataset.drawn = String(Number(el.dataset.drawn || 0) + 1);
          if (!firstDrawn) {
            firstDrawn = true;
            performance.mark('first-chart');
          }
        }],
      },
    };
    if (plot) plot.destroy();
    plotHost.replaceChildren();
    el.dataset.series = String(drawn.length);
    el.dataset.log = String(logScale);
    plot = drawn.length ? new uPlot(opts, aligned(drawn, logScale), plotHost) : null;
    if (!drawn.length) plotHost.appendChild(h('p', { class: 'muted', text: 'no points yet' }));
    renderLegend(drawn);
    if (showTable) renderTable();
  }

  function renderLegend(drawn) {
    const colors = drawn.map((line, i) => colorOf(line, i, false));
    const items = [...drawn].reverse().map((line, j) => h('li', {
      class: line.best ? 'best' : '', 'data-line': String(line.label),
    }, h('span', { class: 'swatch', style: `background:${colors[drawn.length - 1 - j]}` }),
    `${line.label}${line.best ? ' (best)' : ''}`));
    legend.replaceChildren(...items);
  }

  function renderTable() {
    const rows = [];
    let total = 0;
    for (const line of ordered().reverse()) {
      total += line.points.length;
      for (const [x, v] of line.points) {
        if (rows.length < TABLE_ROWS) rows.push(h('tr', {}, h('td', { text: String(line.label) }), h('td', { text: String(x) }), h('td', { text: String(v) })));
      }
    }
    const caption = total > rows.length ? `${title}: first ${rows.length} of ${total} points` : `${title}: ${total} points`;
    tableHost.replaceChildren(h('table', { class: 'data' },
      h('caption', { text: caption }),
      h('thead', {}, h('tr', {}, h('th', { text: 'line' }), h('th', { text: xKind || 'x' }), h('th', { text: 'value' }))),
      h('tbody', {}, ...rows)));
  }

  // Follow the page's width (a narrow window, the sidebar of a trial): resize, no refetch.
  let lastWidth = 0;
  new ResizeObserver(() => {
    const w = width();
    if (plot && Math.abs(w - lastWidth) > 2) plot.setSize({ width: w, height });
    lastWidth = w;
  }).observe(plotHost);

  return {
    el,
    width,
    setKinds: setXKinds,
    update(newLines, { x = null, kinds = null } = {}) {
      lines = newLines;
      xKind = x || (lines[0] && lines[0].x) || xKind;
      if (kinds) setXKinds(kinds, xKind);
      else if (xKind && xSelect.options.length <= 1) setXKinds([xKind], xKind);
      draw();
    },
    destroy() { if (plot) plot.destroy(); plot = null; },
  };
}
