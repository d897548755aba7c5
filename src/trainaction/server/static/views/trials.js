// Trials (tuning jobs): the live trials table, the best trial pinned, a parallel-coordinates plot,
// and one trial's curves, config, log lines and model.
import { get, text, fileUrl } from '../api.js';
import { h, table } from '../dom.js';
import { metricCharts } from './metrics.js';
import { parallelCoordinates } from '../parcoords.js';

const ENDED = new Set(['SUCCEEDED', 'FAILED', 'STOPPED']);
const LOG_LINES = 300;

function cellText(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export async function render(root, params, ctx) {
  const jobId = params.id;
  const job = ctx.job || await get(`/jobs/${jobId}`);
  const tune = (job.params && job.params.tune_config) || {};
  const specs = (job.params && job.params.hyperparameters) || [];
  const logAxes = new Set(specs.filter((s) => /^q?log/.test(s.type || '')).map((s) => s.name));

  const pinned = h('div', { class: 'pinned', 'aria-live': 'polite' });
  const filter = h('input', { type: 'search', placeholder: 'filter trials', 'aria-label': 'filter trials', oninput: () => draw() });
  const statusSelect = h('select', { 'aria-label': 'status', onchange: () => draw() });
  const tableHost = h('div', { class: 'trials-table' });
  const plotHost = h('div', { class: 'trials-plot' });
  const panel = h('section', { class: 'trial-panel', 'aria-label': 'selected trial', hidden: true });
  root.append(
    h('h2', { text: 'Trials' }), pinned,
    h('div', { class: 'filters' }, filter, h('label', {}, 'status ', statusSelect)),
    tableHost,
    h('h3', { text: `Hyperparameters → ${tune.metric || 'metric'}` }), plotHost,
    panel,
  );

  let data = null;
  let selected = params.query.get('trial');
  let charts = null;

  function rows() {
    const all = Object.entries(data.trials).map(([id, row]) => ({ trial_id: id, ...row }));
    const best = data.best_trial;
    // The best trial first (pinned); the rest in the table's order.
    return [...all.filter((r) => r.trial_id === best), ...all.filter((r) => r.trial_id !== best)];
  }

  function filtered() {
    const needle = filter.value.trim().toLowerCase();
    const status = statusSelect.value;
    return rows().filter((row) => (!status || row.status === status)
      && (!needle || Object.values(row).some((v) => cellText(v).toLowerCase().includes(needle))));
  }

  function draw() {
    const best = data.best_trial;
    const columns = [
      { key: 'trial_id', label: 'trial', render: (r) => (r.trial_id === best ? `★ ${r.trial_id}` : r.trial_id) },
      ...data.base.map((c) => ({ key: c, label: c, render: (r) => cellText(r[c]) })),
      ...data.hyperparameters.map((c) => ({ key: c, label: c, render: (r) => cellText(r[c]) })),
      ...data.metrics.map((c) => ({ key: c, label: c, render: (r) => cellText(r[c]) })),
    ];
    const shown = filtered();
    const signature = columns.map((c) => c.key).join('\u0000');
    let el = tableHost.firstElementChild;
    if (el && el.dataset.columns === signature && el.update) {
      el.update(shown); // keeps the sort, the scroll and the focused row across live refreshes
    } else {
      el = table({
        columns, rows: shown, rowKey: (r) => r.trial_id, virtual: true, label: 'trials',
        rowClass: (r) => [r.trial_id === best ? 'best' : '', r.trial_id === selected ? 'selected' : ''].join(' ').trim(),
        onSelect: (r) => select(r.trial_id),
      });
      el.dataset.columns = signature;
      tableHost.replaceChildren(el);
    }
    el.dataset.rows = String(shown.length);
    const plot = parallelCoordinates({
      rows: rows(), axes: [...data.hyperparameters, tune.metric].filter(Boolean), logAxes,
      best, selected, onSelect: select, label: `parallel coordinates: hyperparameters to ${tune.metric}`,
    });
    plotHost.replaceChildren(plot);
  }

  function drawPinned() {
    const best = data.best_trial;
    if (!best || !data.trials[best]) {
      pinned.replaceChildren(h('p', { class: 'muted', text: 'No best trial yet.' }));
      return;
    }
    const row = data.trials[best];
    const value = tune.metric ? ` — ${tune.metric} ${cellText(row[tune.metric])} (${tune.mode || 'max'})` : '';
    pinned.replaceChildren(h('p', { class: 'best', 'data-best-trial': best },
      h('strong', { text: 'Best trial: ' }),
      h('a', { href: `#/jobs/${jobId}/trials?trial=${encodeURIComponent(best)}`, text: best, onclick: (e) => { e.preventDefault(); select(best); } }),
      value));
  }

  async function select(trialId) {
    selected = trialId;
    history.replaceState(null, '', `#/jobs/${jobId}/trials?trial=${encodeURIComponent(trialId)}`);
    draw();
    await showTrial(trialId);
  }

  async function showTrial(trialId) {
    if (charts) charts.destroy();
    const row = data.trials[trialId] || {};
    const config = h('table', { class: 'data' }, h('tbody', {},
      ...data.hyperparameters.map((k) => h('tr', {}, h('th', { scope: 'row', text: k }), h('td', { text: cellText(row[k]) })))));
    const chartsHost = h('div');
    const log = h('pre', { class: 'trial-log', 'aria-label': `log lines of trial ${trialId}` });
    const models = h('ul', { class: 'trial-models' });
    panel.hidden = false;
    panel.dataset.trial = trialId;
    panel.replaceChildren(h('h3', { text: `Trial ${trialId}${trialId === data.best_trial ? ' (best)' : ''}` }),
      h('h4', { text: 'Config' }), config, h('h4', { text: 'Curves' }), chartsHost,
      h('h4', { text: 'Model' }), models, h('h4', { text: 'Log' }), log);
    charts = metricCharts(chartsHost, jobId, { trial: trialId });
    await Promise.all([charts.refresh(), fillLog(log, trialId), fillModels(models, trialId)]);
  }

  async function fillLog(el, trialId) {
    const prefix = `[trial ${trialId}]`;
    const lines = (await text(`/jobs/${jobId}/log`)).split('\n').filter((l) => l.includes(prefix));
    el.textContent = lines.slice(-LOG_LINES).join('\n') || 'No log lines from this trial.';
  }

  async function fillModels(el, trialId) {
    const found = (await get('/models', { job_id: jobId })).models.filter((m) => m.trial_id === trialId);
    if (!found.length) {
      el.replaceChildren(h('li', { class: 'muted', text: 'No model stored for this trial.' }));
      return;
    }
    el.replaceChildren(...found.map((m) => h('li', {}, `model ${m.id} (${m.name}): `,
      ...m.files.map((f) => h('a', { href: fileUrl(`/models/${m.id}/files/${f.path}`), download: f.path.split('/').pop(), class: 'download', text: f.path })))));
  }

  async function refresh() {
    try {
      data = await get(`/jobs/${jobId}/trials`);
    } catch (error) {
      if (error.status !== 404) throw error;
      data = { base: ['status'], hyperparameters: [], metrics: [], trials: {}, best_trial: '' };
      pinned.replaceChildren(h('p', { class: 'muted', text: error.message }));
    }
    const statuses = [...new Set(Object.values(data.trials).map((r) => r.status))].sort();
    const chosen = statusSelect.value;
    statusSelect.replaceChildren(h('option', { value: '', text: 'all' }), ...statuses.map((s) => h('option', { value: s, text: s })));
    statusSelect.value = statuses.includes(chosen) ? chosen : '';
    if (Object.keys(data.trials).length) drawPinned();
    draw();
  }

  await refresh();
  if (selected) await showTrial(selected);
  if (!ENDED.has(job.status)) {
    ctx.poll(async () => {
      const { status } = await get(`/jobs/${jobId}/progress`);
      await refresh();
      if (charts) await charts.refresh();
      return !ENDED.has(status);
    }, 2000);
  }
  return () => { if (charts) charts.destroy(); };
}
