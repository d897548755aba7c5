// The dashboard's shell: the hash router, the job header and tab bar, and ctx.poll.
// Routes: #/jobs?status=&q=&page=, #/jobs/{id}[/metrics|/trials|/images], #/compare?jobs=&key=.

import * as api from './api.js';
import {FINISHED, duration, fmtDuration, h, isTune, progressBar, statusBadge} from './dom.js';

const TABS = [['', 'Overview'], ['metrics', 'Metrics'], ['trials', 'Trials'], ['images', 'Images']];
const HEADER_POLL_MS = 1500;

const viewRoot = document.getElementById('view');
const headRoot = document.getElementById('jobhead');
let role = 'read';
let generation = 0;  // bumped on each navigation: polls and late answers of the old page stop
let cleanups = [];

/** '#/jobs/3/metrics?trial=t1' → {view: 'metrics', id: 3, query}. */
export function parseRoute(hash) {
  const raw = (hash || '').replace(/^#\/?/, '');
  const [path, search = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean);
  const query = new URLSearchParams(search);
  if (parts[0] === 'compare') return {view: 'compare', id: null, query};
  if (parts[0] === 'jobs' && parts[1] && /^\d+$/.test(parts[1])) {
    const tab = parts[2] || '';
    return {view: tab || 'job', tab, id: Number(parts[1]), query};
  }
  return {view: 'jobs', id: null, query};
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function makePoll(gen) {
  return (fn, ms) => {
    let timer = null;
    let stopped = false;
    const stop = () => { stopped = true; clearTimeout(timer); };
    const tick = async () => {
      if (stopped || gen !== generation) return;
      let again;
      try { again = await fn(); } catch (error) { console.warn('poll failed:', error); }
      if (again === false || stopped || gen !== generation) { stopped = true; return; }
      timer = setTimeout(tick, ms);
    };
    timer = setTimeout(tick, ms);
    cleanups.push(stop);
    return stop;
  };
}

function jobHeader(job, tab, poll) {
  const badge = h('span', {class: 'status-slot'}, statusBadge(job.status));
  const bar = progressBar(job.progress_percent, 'Overall progress');
  const took = h('span', {class: 'took', text: fmtDuration(duration(job))});
  const tabs = h('nav', {class: 'tabs', 'aria-label': 'Job views'}, TABS
    .filter(([name]) => name !== 'trials' || isTune(job))
    .map(([name, label]) => h('a', {href: `#/jobs/${job.id}${name ? `/${name}` : ''}`, text: label,
      'aria-current': name === tab ? 'page' : null})));
  const head = h('section', {class: 'job-head', 'aria-label': 'Job'},
    h('div', {class: 'job-title'},
      h('h1', {text: job.display_name || job.name}),
      h('span', {class: 'job-id', text: `#${job.id}`}),
      badge,
      h('span', {class: 'mode', text: isTune(job) ? 'tune' : 'train'}),
      took),
    bar, tabs);
  headRoot.replaceChildren(head);
  if (!FINISHED.has(job.status)) {
    poll(async () => {
      const latest = await api.get(`/jobs/${job.id}`);
      Object.assign(job, latest);  // views read ctx.job: it stays the live record
      badge.replaceChildren(statusBadge(latest.status));
      bar.set(latest.progress_percent);
      took.textContent = fmtDuration(duration(latest));
      return !FINISHED.has(latest.status);
    }, HEADER_POLL_MS);
  }
}

function showError(error) {
  viewRoot.replaceChildren(h('div', {class: 'error', role: 'alert'},
    h('h1', {text: 'Cannot show this page'}), h('p', {text: error.message || String(error)})));
}

async function route() {
  generation += 1;
  const gen = generation;
  for (const stop of cleanups.splice(0)) {
    try { stop(); } catch (error) { console.warn(error); }
  }
  const params = parseRoute(location.hash);
  const poll = makePoll(gen);
  for (const link of document.querySelectorAll('[data-nav]')) {
    const current = link.dataset.nav === (params.view === 'compare' ? 'compare' : 'jobs');
    if (current) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  const root = h('div', {class: `view view-${params.view}`});
  viewRoot.replaceChildren(root);
  headRoot.replaceChildren();
  let job = null;
  try {
    if (params.id !== null) {
      job = await api.get(`/jobs/${params.id}`);
      if (gen !== generation) return;
      document.title = `${job.display_name || job.name} · trainaction`;
      jobHeader(job, params.tab, poll);
    } else {
      document.title = params.view === 'compare' ? 'Compare · trainaction' : 'Jobs · trainaction';
    }
    const module = await import(`./views/${params.view}.js`);
    if (gen !== generation) return;
    const ctx = {api, role, job, poll, go};
    const cleanup = await module.render(root, {id: params.id, query: params.query}, ctx);
    if (typeof cleanup === 'function') {
      if (gen !== generation) cleanup(); else cleanups.push(cleanup);
    }
  } catch (error) {
    if (gen === generation) showError(error);
  }
}

async function start() {
  try {
    const me = await api.get('/whoami');
    role = me.role;
    document.body.dataset.role = role;
    document.getElementById('who').textContent = `${me.name} (${me.role})`;
    // `trainaction ui` serves without a token: there is nothing to sign out of.
    if (me.name === 'local') document.getElementById('logout').hidden = true;
  } catch (error) {
    if (error.message === 'not signed in') return;
    showError(error);
    return;
  }
  window.addEventListener('hashchange', route);
  if (!location.hash || location.hash === '#' || location.hash === '#/') history.replaceState(null, '', '#/jobs');
  await route();
}

start();
