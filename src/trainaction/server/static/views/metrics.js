// Metrics: one chart per metric (category/key), one line per trial, the best trial on top; live while the job runs.
import { get } from '../api.js';
import { h } from '../dom.js';
import { lineChart, pointsFor, seriesToLines } from '../charts.js';

const ENDED = new Set(['SUCCEEDED', 'FAILED', 'STOPPED']);

function metricName(s) {
  return s.category ? `${s.category}/${s.key}` : s.key;
}

// The charts of one job (all trials, or `trial` alone) in `root`; returns {refresh, destroy}.
// Used by this view and by the Trials view's trial panel.
export function metricCharts(root, jobId, { trial = null } = {}) {
  const charts = new Map(); // metric name → {chart, category, key, x}
  const list = h('div', { class: 'charts' });
  const status = h('p', { class: 'muted', 'aria-live': 'polite' });
  root.append(status, list);
  let bestTrial = null;

  async function probeKinds(name) {
    // Which x axes every point of the series has: the default one, and epoch when it is full too.
    const entry = charts.get(name);
    const kinds = new Set([entry.defaultX]);
    if (entry.defaultX === 'step') {
      const other = await get(`/jobs/${jobId}/metrics`, { key: entry.key, category: entry.category, trial, points: 1, x: 'epoch' });
      if (other.series.length && other.series.every((s) => s.x === 'epoch')) kinds.add('epoch');
    }
    entry.kinds = [...kinds];
  }

  async function load(name) {
    const entry = charts.get(name);
    const answer = await get(`/jobs/${jobId}/metrics`, {
      key: entry.key, category: entry.category, trial, x: entry.x,
      points: pointsFor(entry.chart.width(), entry.lines),
    });
    const series = answer.series.filter((s) => s.category === entry.category);
    entry.chart.update(seriesToLines(series, bestTrial), { x: entry.x || series[0]?.x });
  }

  async function refresh() {
    const [best, overview] = await Promise.all([
      get(`/jobs/${jobId}/best`).catch(() => ({ best_trial: null })),
      // One point per series: which metrics exist and how many lines each has, cheaply.
      get(`/jobs/${jobId}/metrics`, { trial, points: 1 }),
    ]);
    bestTrial = best.best_trial;
    const counts = new Map();
    for (const s of overview.series) {
      const name = metricName(s);
      if (!counts.has(name)) counts.set(name, { category: s.category, key: s.key, x: s.x, n: 0 });
      counts.get(name).n += 1;
    }
    status.textContent = counts.size ? '' : 'No metrics logged yet.';
    const fresh = [];
    for (const [name, info] of counts) {
      if (!charts.has(name)) {
        const entry = { category: info.category, key: info.key, x: null, defaultX: info.x, kinds: [info.x], lines: info.n };
        entry.chart = lineChart({
          title: name,
          label: `line chart of ${name}, one line per trial`,
          onX: (x) => { entry.x = x; load(name); },
        });
        entry.chart.el.dataset.metric = name;
        charts.set(name, entry);
        list.appendChild(entry.chart.el);
        fresh.push(name);
      }
      charts.get(name).lines = info.n;
    }
    await Promise.all([...charts.keys()].map(load));
    // The axis switch is offered once the charts are drawn: it never delays the first chart.
    await Promise.all(fresh.map(async (name) => {
      await probeKinds(name);
      const entry = charts.get(name);
      entry.chart.setKinds(entry.kinds, entry.x || entry.defaultX);
    }));
  }

  return {
    refresh,
    destroy() { for (const { chart } of charts.values()) chart.destroy(); },
  };
}

export async function render(root, params, ctx) {
  const jobId = params.id;
  const trial = params.query.get('trial');
  root.appendChild(h('h2', { text: trial ? `Metrics of trial ${trial}` : 'Metrics' }));
  const charts = metricCharts(root, jobId, { trial });
  await charts.refresh();
  let status = ctx.job ? ctx.job.status : null;
  if (!ENDED.has(status)) {
    ctx.poll(async () => {
      status = (await get(`/jobs/${jobId}/progress`)).status;
      await charts.refresh();
      return !ENDED.has(status); // one last refresh after the end, then stop
    }, 2000);
  }
  return () => charts.destroy();
}
