// Stand-in shell (the dashboard's app.js replaces it): hash routes → views/NAME.js render(root, params, ctx).
import * as api from './api.js';

const view = document.getElementById('view');
const head = document.getElementById('jobhead');
let cleanup = null;
let generation = 0;

function parse(hash) {
  const [path, qs] = (hash.replace(/^#/, '') || '/jobs').split('?');
  const parts = path.split('/').filter(Boolean);
  const query = new URLSearchParams(qs || '');
  if (parts[0] === 'compare') return { name: 'compare', id: null, query };
  if (parts[0] === 'jobs' && parts[1]) return { name: parts[2] || 'job', id: Number(parts[1]), query };
  return { name: 'jobs', id: null, query };
}

async function route() {
  const mine = ++generation;
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  const { name, id, query } = parse(location.hash);
  const root = document.createElement('div');
  view.replaceChildren(root);
  const job = id ? await api.get(`/jobs/${id}`) : null;
  head.textContent = job ? `${job.display_name} · ${job.status}` : '';
  if (job) {
    const tabs = ['metrics', 'trials', 'images'].map((t) => `<a href="#/jobs/${id}/${t}">${t}</a>`).join(' | ');
    head.insertAdjacentHTML('beforeend', ` <nav class="tabs">${tabs}</nav>`);
  }
  const ctx = {
    api, role: 'read', job, go: (hash) => { location.hash = hash; },
    poll(fn, ms) {
      const tick = async () => {
        if (mine !== generation) return;
        let again = true;
        try { again = (await fn()) !== false; } catch (e) { console.error(e); }
        if (again && mine === generation) setTimeout(tick, ms);
      };
      setTimeout(tick, ms);
    },
  };
  try {
    const module = await import(`./views/${name}.js`);
    if (mine === generation) cleanup = await module.render(root, { id, query }, ctx);
  } catch (e) {
    root.textContent = `error: ${e.message}`;
  }
}

window.addEventListener('hashchange', route);
route();
