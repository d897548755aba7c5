// Small DOM helpers shared by the views: element building, the keyboard-navigable sortable table,
// the "data as a table" text alternative, and time formatting.

/** An element: attrs are class, text, on* handlers, aria-*, data-*, and other attributes or properties. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'style' && typeof value === 'object') Object.assign(el.style, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key.startsWith('aria-') || key.startsWith('data-') || key === 'role' || key === 'for') {
      el.setAttribute(key, value === true ? 'true' : String(value));
    } else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

function compare(a, b) {
  const missingA = a === null || a === undefined || Number.isNaN(a);
  const missingB = b === null || b === undefined || Number.isNaN(b);
  if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;  // missing values last
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, {numeric: true});
}

const ROW_HEIGHT = 30;  // px, for the virtual body (style.css gives rows this height)

/**
 * A table with sortable headers and keyboard navigation (arrow keys / Home / End move between rows,
 * Enter selects). columns: [{key, label, render?(row), sort?: false | (row) => value}].
 * virtual: true renders only the rows in view of a scrolling body (thousands of rows).
 * The returned element has update(rows) (keeps the sort, the scroll and the focused row) and
 * focusRow(key).
 */
export function table({columns, rows, rowKey = (row) => row.id, onSelect = null, virtual = false, rowClass = null,
  label = null}) {
  let data = rows.slice();
  let shown = data;
  let sortKey = null;
  let descending = false;
  let active = 0;  // index in `shown` of the row that takes the focus
  const keyOf = typeof rowKey === 'function' ? rowKey : (row) => row[rowKey];

  const head = h('tr');
  const thead = h('thead', {}, head);
  const tbody = h('tbody');
  const tableEl = h('table', {class: 'data'}, thead, tbody);
  const wrap = h('div', {class: virtual ? 'table-wrap virtual' : 'table-wrap', role: 'region',
    'aria-label': label || 'table', tabindex: '-1'}, tableEl);
  if (label) tableEl.setAttribute('aria-label', label);

  for (const column of columns) {
    const th = h('th', {scope: 'col', 'data-key': column.key});
    if (column.sort === false) th.textContent = column.label;
    else {
      th.setAttribute('aria-sort', 'none');
      th.append(h('button', {type: 'button', class: 'sort', text: column.label,
        'aria-label': `Sort by ${column.label}`, onclick: () => sortBy(column)}));
    }
    head.append(th);
  }

  function valueOf(column, row) {
    return typeof column.sort === 'function' ? column.sort(row) : row[column.key];
  }

  function resort() {
    const column = columns.find((c) => c.key === sortKey);
    shown = column ? data.slice().sort((a, b) => compare(valueOf(column, a), valueOf(column, b)) * (descending ? -1 : 1))
      : data;
  }

  function sortBy(column) {
    const keepKey = shown[active] ? keyOf(shown[active]) : null;
    descending = sortKey === column.key ? !descending : false;
    sortKey = column.key;
    for (const th of head.children) {
      if (th.hasAttribute('aria-sort')) {
        th.setAttribute('aria-sort', th.dataset.key === sortKey ? (descending ? 'descending' : 'ascending') : 'none');
      }
    }
    resort();
    active = Math.max(0, shown.findIndex((row) => keyOf(row) === keepKey));
    draw();
  }

  function rowEl(row, index) {
    const tr = h('tr', {'data-key': String(keyOf(row)), tabindex: index === active ? '0' : '-1',
      'aria-rowindex': String(index + 2), class: rowClass ? rowClass(row) || '' : ''});
    for (const column of columns) {
      const content = column.render ? column.render(row) : row[column.key];
      tr.append(h('td', {}, content === null || content === undefined ? '' : content));
    }
    tr.addEventListener('click', (event) => {
      active = index;
      markActive();
      if (onSelect && !event.target.closest('a, button, input, select')) onSelect(row);
    });
    return tr;
  }

  function range() {
    if (!virtual) return [0, shown.length];
    const top = Math.max(0, wrap.scrollTop - ROW_HEIGHT);  // the header row takes one row's height
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - 10);
    const count = Math.ceil((wrap.clientHeight || 600) / ROW_HEIGHT) + 20;
    return [first, Math.min(shown.length, first + count)];
  }

  function draw() {
    const [first, last] = range();
    const hadFocus = wrap.contains(document.activeElement) && document.activeElement.tagName === 'TR';
    const rowsEl = [];
    if (virtual && first > 0) rowsEl.push(h('tr', {class: 'spacer', 'aria-hidden': 'true', style: {height: `${first * ROW_HEIGHT}px`}}));
    for (let i = first; i < last; i += 1) rowsEl.push(rowEl(shown[i], i));
    if (virtual && last < shown.length) {
      rowsEl.push(h('tr', {class: 'spacer', 'aria-hidden': 'true', style: {height: `${(shown.length - last) * ROW_HEIGHT}px`}}));
    }
    tbody.replaceChildren(...rowsEl);
    tableEl.setAttribute('aria-rowcount', String(shown.length + 1));
    if (hadFocus) focusActive(false);
  }

  function markActive() {
    for (const tr of tbody.querySelectorAll('tr[data-key]')) {
      tr.tabIndex = Number(tr.getAttribute('aria-rowindex')) - 2 === active ? 0 : -1;
    }
  }

  function focusActive(scroll = true) {
    let tr = tbody.querySelector(`tr[aria-rowindex="${active + 2}"]`);
    if (!tr && virtual && scroll) {
      wrap.scrollTop = active * ROW_HEIGHT;
      draw();
      tr = tbody.querySelector(`tr[aria-rowindex="${active + 2}"]`);
    }
    markActive();
    if (tr) tr.focus({preventScroll: !scroll});
  }

  tbody.addEventListener('keydown', (event) => {
    if (!shown.length) return;
    const moves = {ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10};
    if (event.key in moves) active = Math.min(shown.length - 1, Math.max(0, active + moves[event.key]));
    else if (event.key === 'Home') active = 0;
    else if (event.key === 'End') active = shown.length - 1;
    else if (event.key === 'Enter') {
      if (onSelect && event.target.tagName === 'TR') onSelect(shown[active]);
      return;
    } else return;
    event.preventDefault();
    if (virtual) {
      const rowTop = active * ROW_HEIGHT;
      const view = wrap.clientHeight - ROW_HEIGHT;
      if (rowTop < wrap.scrollTop) wrap.scrollTop = rowTop;
      else if (rowTop > wrap.scrollTop + view - ROW_HEIGHT) wrap.scrollTop = rowTop - view + ROW_HEIGHT;
      draw();
    }
    focusActive();
  });

  if (virtual) {
    let pending = false;
    wrap.addEventListener('scroll', () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; draw(); });
    });
  }

  wrap.update = (newRows) => {
    const keepKey = shown[active] ? keyOf(shown[active]) : null;
    data = newRows.slice();
    resort();
    active = Math.max(0, shown.findIndex((row) => keyOf(row) === keepKey));
    draw();
  };
  wrap.focusRow = (key) => {
    const index = shown.findIndex((row) => String(keyOf(row)) === String(key));
    if (index >= 0) { active = index; focusActive(); }
  };
  wrap.rows = () => shown.slice();
  draw();
  if (virtual) requestAnimationFrame(draw);  // once laid out, the body's height is known
  return wrap;
}

/**
 * A text alternative: a "Data as a table" disclosure; the table is built when first opened.
 * columns: [{key, label}] or labels (strings); rows: objects (by key) or arrays (by position),
 * or a function returning them (called on opening, so it can read the latest data).
 */
export function dataTable(columns, rows, {summary = 'Data as a table', limit = 2000} = {}) {
  const cols = columns.map((c, i) => (typeof c === 'string' ? {key: c, label: c, index: i} : {...c, index: i}));
  const details = h('details', {class: 'data-table'}, h('summary', {text: summary}));
  details.addEventListener('toggle', () => {
    if (!details.open) return;
    for (const old of details.querySelectorAll('.table-wrap, p.note')) old.remove();
    const all = typeof rows === 'function' ? rows() : rows;
    const body = all.slice(0, limit).map((row) => h('tr', {}, cols.map((c) => {
      const value = Array.isArray(row) ? row[c.index] : row[c.key];
      return h('td', {text: value === null || value === undefined ? '' : fmtValue(value)});
    })));
    details.append(h('div', {class: 'table-wrap'}, h('table', {class: 'data'},
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', {scope: 'col', text: c.label})))),
      h('tbody', {}, body))));
    if (all.length > limit) details.append(h('p', {class: 'note', text: `First ${limit} of ${all.length} rows.`}));
  });
  return details;
}

/** A number with up to 6 significant digits; other values as text. */
export function fmtValue(value) {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function pad(n) { return String(n).padStart(2, '0'); }

/** An ISO time as local "YYYY-MM-DD HH:MM:SS"; '—' when missing. */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Seconds as "42s", "3m 05s", "2h 03m", "4d 07h"; '—' when missing. */
export function fmtDuration(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '—';
  const total = Math.max(0, Math.round(s));
  if (total < 60) return `${total}s`;
  if (total < 3600) return `${Math.floor(total / 60)}m ${pad(total % 60)}s`;
  if (total < 86400) return `${Math.floor(total / 3600)}h ${pad(Math.floor(total / 60) % 60)}m`;
  return `${Math.floor(total / 86400)}d ${pad(Math.floor(total / 3600) % 24)}h`;
}

// Job widgets shared by the header and the views.

/** The statuses after which a job no longer changes. */
export const FINISHED = new Set(['SUCCEEDED', 'FAILED', 'STOPPED']);

export function isTune(job) {
  return Boolean(job && job.params && job.params.is_tune);
}

export function statusBadge(status) {
  return h('span', {class: `badge status-${String(status).toLowerCase()}`, text: status});
}

/** A progress bar (role=progressbar) for a percentage; `label` names it for screen readers. */
export function progressBar(percent, label, detail = null) {
  const value = Math.max(0, Math.min(100, Number(percent) || 0));
  const fill = h('span', {class: 'fill', style: {width: `${value}%`}});
  const text = h('span', {class: 'pct', text: detail ? `${Math.round(value)}% · ${detail}` : `${Math.round(value)}%`});
  const bar = h('div', {class: 'progress', role: 'progressbar', 'aria-label': label, 'aria-valuemin': '0',
    'aria-valuemax': '100', 'aria-valuenow': String(value)}, h('span', {class: 'track'}, fill), text);
  bar.set = (next, nextDetail = null) => {
    const v = Math.max(0, Math.min(100, Number(next) || 0));
    fill.style.width = `${v}%`;
    text.textContent = nextDetail ? `${Math.round(v)}% · ${nextDetail}` : `${Math.round(v)}%`;
    bar.setAttribute('aria-valuenow', String(v));
  };
  return bar;
}

export function duration(job) {
  if (!job.started_at) return null;
  const end = job.finished_at ? Date.parse(job.finished_at) : Date.now();
  return (end - Date.parse(job.started_at)) / 1000;
}

