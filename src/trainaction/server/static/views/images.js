// Images: the job's logged visualizations as a gallery by trial, category and group, with a slider over index.
// They are the job's `visualization` events (each names its stored file) read through the events route,
// and the images load through the file route, which the login cookie authenticates.
import { get, fileUrl } from '../api.js';
import { h } from '../dom.js';

const ENDED = new Set(['SUCCEEDED', 'FAILED', 'STOPPED']);

async function visualizations(jobId, after) {
  const found = [];
  let next = after;
  for (;;) {
    const page = await get(`/jobs/${jobId}/events`, { type: 'visualization', after: next, limit: 10000 });
    found.push(...page.events);
    if (page.events.length) next = page.events[page.events.length - 1].id;
    if (page.next === null || page.next === undefined) return { found, last: next };
  }
}

export async function render(root, params, ctx) {
  const jobId = params.id;
  const trialSelect = h('select', { 'aria-label': 'trial', onchange: () => draw() });
  const gallery = h('div', { class: 'gallery-groups' });
  const empty = h('p', { class: 'muted', text: 'No images logged yet.' });
  root.append(h('h2', { text: 'Images' }), h('div', { class: 'filters' }, h('label', {}, 'trial ', trialSelect)), empty, gallery);

  // trial → "category/group" → index → event data
  const byTrial = new Map();
  const chosenIndex = new Map(); // "trial|category/group" → index the slider shows
  let last = null;

  function add(events) {
    for (const event of events) {
      const d = event.data;
      if (!d.file) continue;
      const trial = d.trial_id ?? '';
      if (!byTrial.has(trial)) byTrial.set(trial, new Map());
      const groups = byTrial.get(trial);
      const name = `${d.category}/${d.group}`;
      if (!groups.has(name)) groups.set(name, new Map());
      groups.get(name).set(d.index, d);
    }
  }

  function drawTrials() {
    const trials = [...byTrial.keys()].sort();
    const current = trialSelect.value;
    trialSelect.replaceChildren(...trials.map((t) => h('option', { value: t, text: t || 'job' })));
    if (trials.includes(current)) trialSelect.value = current;
    trialSelect.disabled = trials.length < 2;
    trialSelect.parentElement.hidden = trials.length === 1 && trials[0] === '';
  }

  function draw() {
    empty.hidden = byTrial.size > 0;
    const trial = trialSelect.value;
    const groups = byTrial.get(trial) || new Map();
    const sections = [...groups.keys()].sort().map((name) => {
      const byIndex = groups.get(name);
      const indexes = [...byIndex.keys()].sort((a, b) => a - b);
      const key = `${trial}|${name}`;
      // Follow the newest index unless someone moved the slider.
      const wanted = chosenIndex.get(key);
      const index = indexes.includes(wanted) ? wanted : indexes[indexes.length - 1];
      const item = byIndex.get(index);
      const img = h('img', {
        src: fileUrl(`/files/${item.file}`),
        alt: `${name} at index ${index}${trial ? ` of trial ${trial}` : ''}`,
        'data-index': String(index),
      });
      const caption = h('figcaption', { text: `index ${index}` });
      const slider = h('input', {
        type: 'range', min: '0', max: String(indexes.length - 1), step: '1', value: String(indexes.indexOf(index)),
        'aria-label': `${name}: index`, 'aria-valuetext': `index ${index}`,
        oninput: () => {
          const at = indexes[Number(slider.value)];
          chosenIndex.set(key, at);
          const chosen = byIndex.get(at);
          img.src = fileUrl(`/files/${chosen.file}`);
          img.alt = `${name} at index ${at}${trial ? ` of trial ${trial}` : ''}`;
          img.dataset.index = String(at);
          caption.textContent = `index ${at}`;
          slider.setAttribute('aria-valuetext', `index ${at}`);
        },
      });
      slider.disabled = indexes.length < 2;
      return h('section', { class: 'image-group', 'data-group': name },
        h('h3', { text: name }),
        h('label', { class: 'slider' }, `index (${indexes[0]}–${indexes[indexes.length - 1]}) `, slider),
        h('div', { class: 'gallery' }, h('figure', {}, img, caption)));
    });
    gallery.replaceChildren(...sections);
  }

  async function refresh() {
    const { found, last: newest } = await visualizations(jobId, last);
    last = newest;
    if (!found.length && byTrial.size) return;
    add(found);
    drawTrials();
    const wanted = params.query.get('trial');
    if (wanted !== null && byTrial.has(wanted) && !trialSelect.dataset.set) {
      trialSelect.value = wanted;
      trialSelect.dataset.set = '1';
    }
    draw();
  }

  await refresh();
  const job = ctx.job || await get(`/jobs/${jobId}`);
  if (!ENDED.has(job.status)) {
    ctx.poll(async () => {
      const { status } = await get(`/jobs/${jobId}/progress`);
      await refresh();
      return !ENDED.has(status);
    }, 3000);
  }
}
