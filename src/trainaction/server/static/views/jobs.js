// Jobs: newest first, filtered by status and name, 50 a page, kept fresh while it is shown.

import {duration, fmtDuration, fmtTime, h, isTune, progressBar, statusBadge, table} from '../dom.js';

const PAGE = 50;
const STATUSES = ['QUEUED', 'PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'STOPPED'];
const REFRESH_MS = 3000;

export async function render(root, params, ctx) {
  const state = {
    status: params.query.get('status') || '',
    q: params.query.get('q') || '',
    page: Math.max(1, Number(params.query.get('page')) || 1),
  };

  const statusSelect = h('select', {id: 'job-status', 'aria-label': 'Filter by status', onchange: () => {
    state.status = statusSelect.value;
    state.page = 1;
    refresh(true);
  }}, h('option', {value: '', text: 'All statuses'}), STATUSES.map((s) => h('option', {value: s, text: s})));
  statusSelect.value = state.status;
  let typing = null;
  const search = h('input', {id: 'job-q', type: 'search', placeholder: 'Filter by name', value: state.q,
    'aria-label': 'Filter by name', autocomplete: 'off', oninput: () => {
      clearTimeout(typing);
      typing = setTimeout(() => { state.q = search.value.trim(); state.page = 1; refresh(true); }, 250);
    }});
  const prev = h('button', {type: 'button', class: 'prev', text: '‹ Newer', 'aria-label': 'Previous page',
    onclick: () => { state.page -= 1; refresh(true); }});
  const next = h('button', {type: 'button', class: 'next', text: 'Older ›', 'aria-label': 'Next page',
    onclick: () => { state.page += 1; refresh(true); }});
  const pageInfo = h('span', {class: 'page-info', 'aria-live': 'polite'});
  const empty = h('p', {class: 'empty', hidden: true, text: 'No jobs match.'});

  const jobs = table({
    label: 'Jobs',
    rows: [],
    rowKey: 'id',
    onSelect: (job) => ctx.go(`#/jobs/${job.id}`),
    rowClass: (job) => `job-row status-${job.status.toLowerCase()}`,
    columns: [
      {key: 'display_name', label: 'Name', render: (job) => h('a', {href: `#/jobs/${job.id}`, class: 'job-link',
        text: job.display_name || job.name})},
      {key: 'id', label: 'ID'},
      {key: 'status', label: 'Status', render: (job) => statusBadge(job.status)},
      {key: 'mode', label: 'Mode', sort: (job) => (isTune(job) ? 'tune' : 'train'),
        render: (job) => (isTune(job) ? 'tune' : 'train')},
      {key: 'progress_percent', label: 'Progress',
        render: (job) => progressBar(job.progress_percent, `Progress of ${job.display_name || job.name}`)},
      {key: 'started_at', label: 'Started', render: (job) => fmtTime(job.started_at)},
      {key: 'duration', label: 'Duration', sort: (job) => duration(job), render: (job) => fmtDuration(duration(job))},
    ],
  });

  root.append(
    h('h1', {text: 'Jobs'}),
    h('div', {class: 'toolbar', role: 'search'}, statusSelect, search),
    jobs, empty,
    h('nav', {class: 'pager', 'aria-label': 'Pages'}, prev, pageInfo, next),
  );

  async function refresh(moved = false) {
    const answer = await ctx.api.get('/jobs', {status: state.status || null, q: state.q || null, order: 'newest',
      offset: (state.page - 1) * PAGE, limit: PAGE});
    const pages = Math.max(1, Math.ceil(answer.total / PAGE));
    if (state.page > pages && answer.total > 0) { state.page = pages; return refresh(moved); }
    jobs.update(answer.jobs);
    empty.hidden = answer.jobs.length > 0;
    pageInfo.textContent = `Page ${state.page} of ${pages} · ${answer.total} job${answer.total === 1 ? '' : 's'}`;
    prev.disabled = state.page <= 1;
    next.disabled = state.page >= pages;
    if (moved) {
      // The filters live in the address (shareable, kept on Back) without a new navigation.
      const query = new URLSearchParams();
      if (state.status) query.set('status', state.status);
      if (state.q) query.set('q', state.q);
      if (state.page > 1) query.set('page', String(state.page));
      const qs = query.toString();
      history.replaceState(null, '', `#/jobs${qs ? `?${qs}` : ''}`);
    }
    return true;
  }

  await refresh();
  ctx.poll(refresh, REFRESH_MS);
  return () => clearTimeout(typing);
}
