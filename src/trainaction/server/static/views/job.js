// A job's overview: per-category progress, the result, the error of a failed job, the models with
// their downloads, and the log, all following the job while it runs and stopping once it has ended.

import {FINISHED, fmtValue, h, progressBar} from '../dom.js';

const POLL_MS = 1500;
const LOG_PAGE = 1000;
const TRACEBACK = 'Traceback (most recent call last):';

function section(title, id, ...children) {
  return h('section', {class: 'panel', id, 'aria-labelledby': `${id}-title`}, h('h2', {id: `${id}-title`, text: title}),
    ...children);
}

function kv(pairs) {
  return h('dl', {class: 'kv'}, pairs.filter(([, v]) => v !== undefined)
    .map(([k, v]) => [h('dt', {text: k}), h('dd', {}, v instanceof Node ? v : fmtValue(v ?? '—'))]));
}

/** The last traceback in a log: its "Traceback" line, the indented lines after it, and the exception line. */
export function lastTraceback(text) {
  const start = text.lastIndexOf(TRACEBACK);
  if (start < 0) return null;
  const lines = text.slice(start).split('\n');
  const kept = [lines[0]];
  for (const line of lines.slice(1)) {
    kept.push(line);
    if (line && !/^\s/.test(line)) break;  // the exception itself ends the traceback
  }
  return kept.join('\n');
}

/** {"accuracy": 0.80000001, "train": {"loss": 0.4}} as "accuracy 0.8 · train/loss 0.4". */
function fmtPairs(values, prefix = '') {
  return Object.entries(values || {}).map(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v)
    ? fmtPairs(v, `${prefix}${k}/`) : `${prefix}${k} ${fmtValue(v)}`)).join(' · ');
}

function humanSize(bytes) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

export async function render(root, params, ctx) {
  const {api} = ctx;
  const job = ctx.job;
  const jobId = params.id;
  let logText = '';
  let lastChunk = 0;

  const progressList = h('div', {class: 'bars'});
  const resultBox = h('div', {class: 'result'});
  const errorBox = section('Error', 'job-error');
  errorBox.hidden = true;
  const modelsBox = h('div', {class: 'models'});
  const log = h('pre', {class: 'log', role: 'log', tabindex: '0', 'aria-label': 'Job log', 'aria-live': 'off'});
  const follow = h('input', {type: 'checkbox', id: 'log-follow', checked: true});
  const liveNote = h('span', {class: 'live-note', 'aria-live': 'polite'});

  root.append(
    h('div', {class: 'overview'},
      section('Progress', 'job-progress', progressList),
      section('Result', 'job-result', resultBox),
      errorBox,
      section('Models', 'job-models', modelsBox),
      section('Log', 'job-log',
        h('div', {class: 'log-tools'}, h('label', {for: 'log-follow'}, follow, ' Follow the end'), liveNote),
        log)));

  function drawProgress(progress) {
    const entries = Object.entries(progress || {});
    if (!entries.length) {
      progressList.replaceChildren(h('p', {class: 'empty', text: 'No progress reported yet.'}));
      return;
    }
    progressList.replaceChildren(...entries.map(([category, entry]) => {
      const percent = entry.percent ?? (entry.total ? (100 * entry.current) / entry.total : 0);
      return h('div', {class: 'bar-row', 'data-category': category},
        h('span', {class: 'bar-label', text: category}),
        progressBar(percent, `Progress of ${category}`, `${fmtValue(entry.current ?? 0)} / ${fmtValue(entry.total ?? 0)}`));
    }));
  }

  function modelLink(id) {
    return id === null || id === undefined ? '—' : h('a', {href: `#model-${id}`, text: `model ${id}`});
  }

  function drawResult(current) {
    const result = current.result;
    if (!result) {
      resultBox.replaceChildren(h('p', {class: 'empty',
        text: FINISHED.has(current.status) ? 'This job has no result.' : 'The result is shown when the job ends.'}));
      return;
    }
    const best = result.best_trial;
    const pairs = [];
    if (best) {
      pairs.push(['Best trial', h('strong', {class: 'best-trial', text: best.trial_id})]);
      pairs.push(['Best configuration', h('code', {text: JSON.stringify(best.config)})]);
      pairs.push(['Best metrics', fmtPairs(best.metrics)]);
    }
    pairs.push([best ? 'Best model' : 'Model', modelLink(result.model_id)]);
    if (Array.isArray(result.trial_models) && result.trial_models.length) {
      pairs.push(['Trial models', h('span', {}, result.trial_models.flatMap((t, i) => [i ? ', ' : '',
        `${t.trial_id}: `, modelLink(t.model_id)]))]);
    }
    if (result.metrics && !best) pairs.push(['Metrics', fmtPairs(result.metrics)]);
    if (result.note) pairs.push(['Note', result.note]);
    resultBox.replaceChildren(kv(pairs), h('details', {}, h('summary', {text: 'The whole result (JSON)'}),
      h('pre', {class: 'json', text: JSON.stringify(result, null, 2)})));
  }

  function drawError(current) {
    if (current.status !== 'FAILED') { errorBox.hidden = true; return; }
    const trace = lastTraceback(logText);
    errorBox.hidden = false;
    errorBox.replaceChildren(errorBox.firstChild,
      h('p', {class: 'error-message', role: 'alert', text: current.error || 'The job failed without a message.'}),
      trace ? h('pre', {class: 'traceback', 'aria-label': 'Traceback', text: trace}) : null);
  }

  async function drawModels() {
    const {models} = await api.get('/models', {job_id: jobId});
    if (!models.length) {
      modelsBox.replaceChildren(h('p', {class: 'empty', text: 'No models yet.'}));
      return;
    }
    const full = await Promise.all(models.map((m) => (m.files && m.files.length ? m : api.get(`/models/${m.id}`))));
    modelsBox.replaceChildren(...full.map((model) => h('article', {class: 'model', id: `model-${model.id}`,
      'data-model-id': String(model.id)},
    h('h3', {}, `${model.name} `, h('span', {class: 'muted', text: `model ${model.id}`}),
      model.trial_id ? h('span', {class: 'muted', text: ` · trial ${model.trial_id}`}) : null,
      model.trial_id && model.trial_id === job.best_trial ? h('span', {class: 'badge best', text: 'best'}) : null),
    Object.keys(model.metrics || {}).length ? h('p', {class: 'metrics', text: fmtPairs(model.metrics)}) : null,
    h('ul', {class: 'files'}, (model.files || []).map((file) => h('li', {},
      h('a', {href: api.fileUrl(`/models/${model.id}/files/${file.path}`), download: file.path.split('/').pop(),
        class: 'download', 'aria-label': `Download ${file.path} of model ${model.id}`, text: file.path}),
      h('span', {class: 'muted', text: ` ${humanSize(file.size)}`})))))));
  }

  async function readLog() {
    for (;;) {
      const {chunks} = await api.get(`/jobs/${jobId}/log/chunks`, {after: lastChunk, limit: LOG_PAGE});
      if (!chunks.length) return;
      const added = chunks.map((c) => c.text).join('');
      lastChunk = chunks[chunks.length - 1].id;
      logText += added;
      const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.append(added);
      if (follow.checked || atEnd) log.scrollTop = log.scrollHeight;
      if (chunks.length < LOG_PAGE) return;
    }
  }

  async function everything(current) {
    drawProgress(current.progress);
    drawResult(current);
    await Promise.all([drawModels(), readLog()]);
    drawError(current);
  }

  await everything(job);
  if (FINISHED.has(job.status)) {
    root.dataset.live = 'false';
    return undefined;
  }
  root.dataset.live = 'true';
  liveNote.textContent = 'following the running job';
  let modelsSeen = 0;
  ctx.poll(async () => {
    const progress = await api.get(`/jobs/${jobId}/progress`);
    drawProgress(progress.progress);
    await readLog();
    if (FINISHED.has(progress.status)) {
      // One last refresh of everything, then no more requests.
      const latest = await api.get(`/jobs/${jobId}`);
      Object.assign(job, latest);
      await everything(latest);
      liveNote.textContent = `the job ended: ${latest.status}`;
      root.dataset.live = 'false';
      return false;
    }
    // Models arrive as trials end; look again every few ticks.
    modelsSeen += 1;
    if (modelsSeen % 4 === 0) await drawModels();
    return true;
  }, POLL_MS);
  return undefined;
}
