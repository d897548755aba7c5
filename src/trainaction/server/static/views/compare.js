// Compare: two or more jobs (or trials, `jobId:trialId`) overlaid on one metric's chart, and a
// table of their hyperparameters with the ones that differ highlighted.
// A tuning job compared as a whole stands for its best trial (its curves and its values).
import { get } from '../api.js';
import { h } from '../dom.js';
import { lineChart, pointsFor } from '../charts.js';

function parseItems(text) {
  return (text || '').split(',').map((s) => s.trim()).filter(Boolean).map((item) => {
    const [job, ...trial] = item.split(':');
    return { jobId: Number(job), trial: trial.length ? trial.join(':') : null, text: item };
  }).filter((item) => Number.isInteger(item.jobId) && item.jobId > 0);
}

function metricName(s) {
  return s.category ? `${s.category}/${s.key}` : s.key;
}

function shown(value) {
  if (value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

async function describe(item) {
  // The job, the trial that stands for it, and that trial's (or the training job's) hyperparameters.
  const job = await get(`/jobs/${item.jobId}`);
  let trial = item.trial;
  let config = job.params.hyperparameter || {};
  if (job.params.is_tune) {
    const table = await get(`/jobs/${item.jobId}/trials`).catch(() => null);
    trial = trial || (table && table.best_trial) || job.best_trial || null;
    const row = table && trial ? table.trials[trial] : null;
    config = row ? Object.fromEntries(table.hyperparameters.map((k) => [k, row[k]])) : {};
  }
  const name = job.display_name || job.name;
  const label = trial ? `${name} #${job.id} · ${trial}${item.trial ? '' : ' (best)'}` : `${name} #${job.id}`;
  return { ...item, job, trial, config, label };
}

function picker(items, key, ctx) {
  const input = h('input', { type: 'text', value: items.map((i) => i.text).join(','), 'aria-label': 'jobs or trials to compare (ids, or job:trial)', size: '40' });
  const list = h('div', { class: 'compare-pick' });
  get('/jobs', { order: 'newest', limit: 50 }).then(({ jobs }) => {
    const chosen = new Set(items.filter((i) => !i.trial).map((i) => i.jobId));
    list.replaceChildren(...jobs.map((job) => h('label', { class: 'pick' },
      h('input', {
        type: 'checkbox', value: String(job.id), checked: chosen.has(job.id),
        onchange: (e) => {
          const now = parseItems(input.value).filter((i) => i.trial || i.jobId !== job.id).map((i) => i.text);
          if (e.target.checked) now.push(String(job.id));
          input.value = now.join(',');
        },
      }), ` #${job.id} ${job.display_name || job.name} `)));
  });
  const go = h('button', {
    type: 'submit', text: 'Compare',
  });
  const form = h('form', {
    class: 'filters',
    onsubmit: (e) => {
      e.preventDefault();
      const query = new URLSearchParams({ jobs: input.value });
      if (key) query.set('key', key);
      ctx.go(`#/compare?${query}`);
    },
  }, h('label', {}, 'compare ', input), go);
  return h('section', { class: 'compare-picker' }, form, list);
}

export async function render(root, params, ctx) {
  const items = parseItems(params.query.get('jobs'));
  const wantedKey = params.query.get('key');
  root.append(h('h2', { text: 'Compare' }), picker(items, wantedKey, ctx));
  if (items.length < 2) {
    root.appendChild(h('p', { class: 'muted', text: 'Pick two or more jobs (or trials as job:trial) to overlay their curves.' }));
    return;
  }
  const described = await Promise.all(items.map(describe));
  // Metric names each item has (from the series' counts: cheap).
  const names = await Promise.all(described.map(async (d) => {
    const { keys } = await get(`/jobs/${d.jobId}/metrics/keys`, { trial: d.trial });
    return new Set(keys.map(metricName));
  }));
  const all = [...new Set(names.flatMap((s) => [...s]))].sort();
  const common = all.filter((n) => names.every((s) => s.has(n)));
  const key = all.includes(wantedKey) ? wantedKey : (common[0] || all[0]);
  const keySelect = h('select', {
    'aria-label': 'metric',
    onchange: () => {
      const query = new URLSearchParams({ jobs: items.map((i) => i.text).join(','), key: keySelect.value });
      ctx.go(`#/compare?${query}`);
    },
  }, ...all.map((n) => h('option', { value: n, text: n, selected: n === key })));
  root.appendChild(h('div', { class: 'filters' }, h('label', {}, 'metric ', keySelect)));

  const chart = lineChart({ title: key || 'no metric', label: `${key}: one line per compared job or trial` });
  chart.el.dataset.metric = key || '';
  chart.el.classList.add('compare-chart');
  root.appendChild(chart.el);
  if (key) {
    const slash = key.indexOf('/');
    const [category, metric] = slash > 0 ? [key.slice(0, slash), key.slice(slash + 1)] : [null, key];
    const lines = [];
    await Promise.all(described.map(async (d, n) => {
      const { series } = await get(`/jobs/${d.jobId}/metrics`, {
        key: metric, category, trial: d.trial, points: pointsFor(chart.width(), described.length),
      });
      // A training job has its own series (no trial); a trial's series carry its id.
      const mine = series.filter((s) => (d.trial ? s.trial_id === d.trial : s.trial_id == null));
      mine.forEach((s) => lines[n] = { id: d.text, label: d.label, best: false, x: s.x, points: s.points });
    }));
    chart.update(lines.filter(Boolean));
  }

  const keys = [...new Set(described.flatMap((d) => Object.keys(d.config)))].sort();
  const rows = keys.map((k) => {
    const values = described.map((d) => shown(d.config[k]));
    const differs = new Set(values).size > 1;
    return h('tr', { class: differs ? 'diff' : '', 'data-param': k, 'data-differs': String(differs) },
      h('th', { scope: 'row', text: k }), ...values.map((v) => h('td', { text: v })));
  });
  root.append(h('h3', { text: 'Hyperparameters' }), h('table', { class: 'data compare-params' },
    h('caption', { text: 'Rows whose values differ are highlighted.' }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'hyperparameter' }), ...described.map((d) => h('th', { scope: 'col', text: d.label })))),
    h('tbody', {}, ...rows)));
}
