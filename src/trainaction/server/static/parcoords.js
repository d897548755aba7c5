// A parallel-coordinates plot in SVG: one polyline per trial over the hyperparameter axes to the
// optimised metric. Numeric axes are linear (log for loguniform-like parameters); others are
// evenly spaced categories. SVG keeps each trial a clickable element with its id on it.

// SVG elements need their namespace; dom.js's h() makes HTML ones.
function h(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'text') el.textContent = value;
    else if (value !== null && value !== undefined && value !== '') el.setAttribute(key, String(value));
  }
  el.append(...children);
  return el;
}

const W = 1000;
const H = 320;
const PAD = { top: 28, bottom: 24, left: 40, right: 60 };

function scaleFor(name, values, log) {
  const present = values.filter((v) => v !== null && v !== undefined);
  const numeric = present.length && present.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (numeric) {
    const useLog = log && present.every((v) => v > 0);
    const f = useLog ? Math.log10 : (v) => v;
    const lo = Math.min(...present.map(f));
    const hi = Math.max(...present.map(f));
    const span = hi - lo || 1;
    return {
      name, kind: useLog ? 'log' : 'linear',
      at: (v) => (typeof v === 'number' && Number.isFinite(v) && (!useLog || v > 0) ? 1 - (f(v) - lo) / span : null),
      ticks: [[0, hi], [1, lo]].map(([y, t]) => [y, useLog ? 10 ** t : t]),
    };
  }
  const cats = [...new Set(present.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))))].sort();
  const step = cats.length > 1 ? 1 / (cats.length - 1) : 0;
  const index = new Map(cats.map((c, i) => [c, i]));
  return {
    name, kind: 'categorical',
    at: (v) => {
      if (v === null || v === undefined) return null;
      const i = index.get(typeof v === 'string' ? v : JSON.stringify(v));
      return cats.length > 1 ? 1 - i * step : 0.5;
    },
    ticks: cats.map((c, i) => [cats.length > 1 ? 1 - i * step : 0.5, c]),
  };
}

function tickText(value) {
  return typeof value === 'number' ? Number(value.toPrecision(3)).toString() : String(value).slice(0, 14);
}

export function parallelCoordinates({ rows, axes, logAxes = new Set(), best = null, selected = null, onSelect = null, label = '' }) {
  const svg = h('svg', {
    class: 'parcoords', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, 'data-lines': String(rows.length),
  });
  if (!axes.length || !rows.length) {
    svg.appendChild(h('text', { x: '20', y: '40', text: 'No trials to plot yet.' }));
    return svg;
  }
  const scales = axes.map((name) => scaleFor(name, rows.map((r) => r[name]), logAxes.has(name)));
  const xOf = (i) => PAD.left + (axes.length > 1 ? (i * (W - PAD.left - PAD.right)) / (axes.length - 1) : (W - PAD.left - PAD.right) / 2);
  const yOf = (t) => PAD.top + t * (H - PAD.top - PAD.bottom);

  for (const [i, scale] of scales.entries()) {
    const x = xOf(i);
    const g = h('g', { class: 'axis', 'data-axis': scale.name, 'data-scale': scale.kind },
      h('line', { x1: x, x2: x, y1: PAD.top, y2: H - PAD.bottom }),
      h('text', { x, y: PAD.top - 10, 'text-anchor': 'middle', text: `${scale.name}${scale.kind === 'log' ? ' (log)' : ''}` }));
    for (const [t, value] of scale.ticks) {
      g.appendChild(h('text', { x: x + 4, y: yOf(t) + 4, text: tickText(value) }));
    }
    svg.appendChild(g);
  }
  // The best trial, then the selected one, last: drawn over the others.
  const order = [...rows].sort((a, b) => (a.trial_id === best) - (b.trial_id === best) || (a.trial_id === selected) - (b.trial_id === selected));
  for (const row of order) {
    const pts = [];
    scales.forEach((scale, i) => {
      const t = scale.at(row[scale.name]);
      if (t !== null) pts.push(`${xOf(i).toFixed(1)},${yOf(t).toFixed(1)}`);
    });
    const cls = [row.trial_id === best ? 'best' : '', row.trial_id === selected ? 'selected' : ''].join(' ').trim();
    const line = h('polyline', { points: pts.join(' '), class: cls, 'data-trial': row.trial_id, tabindex: '-1' },
      h('title', { text: `trial ${row.trial_id}` }));
    if (onSelect) line.addEventListener('click', () => onSelect(row.trial_id));
    svg.appendChild(line);
  }
  return svg;
}
