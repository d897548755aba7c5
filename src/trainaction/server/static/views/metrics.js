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

  async function load(name) {
    const entry = charts.get(name);
    const answer = await get(`/jobs/${jobId}/metrics`, {
      key: entry.key, category: entry.category, trial, x: entry.x,
      points: pointsFor(entry.chart.width(), entry.lines),
    });
    const series = answer.series.filter((s) => s.category === entry.category);
    entry.chart.update(seriesToLines(series, bestTrial), { x: entry.x || series[0]?.x, kinds: entry.kinds });
  }

  async function refresh() {
    const [best, index] = await Promise.all([
      get(`/jobs/${jobId}/best`).catch(() => ({ best_trial: null })),
      // The metrics, how many lines each has and the axes they can take, from the series' counts alone.
      get(`/jobs/${jobId}/metrics/keys`, { trial }),
    ]);
    bestTrial = best.best_trial;
    status.textContent = index.keys.length ? '' : 'No metrics logged yet.';
    for (const info of index.keys) {
      const name = metricName(info);
      if (!charts.has(name)) {
        const entry = { category: info.category, key: info.key, x: null };
        entry.chart = lineChart({
          title: name,
          label: `line chart of ${name}, one line per trial`,
          onX: (x) => { entry.x = x; load(name); },
        });
        entry.chart.el.dataset.metric = name;
        charts.set(name, entry);
        list.appendChild(entry.chart.el);
      }
      const entry = charts.get(name);
      entry.lines = info.series;
      entry.kinds = info.x.filter((k) => k !== 'index' || info.x.length === 1);
    }
    await Promise.all([...charts.keys()].map(load));
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
