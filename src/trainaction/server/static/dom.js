// Stand-in for the dashboard's dom.js (same exports): element builder, tables, time formats.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'hidden') el.hidden = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const ROW_H = 28;

export function table({ columns, rows, rowKey, onSelect = null, virtual = false, rowClass = null }) {
  let sorted = [...rows];
  let sortKey = null;
  let dir = 1;
  let active = 0;
  const body = h('tbody');
  const head = h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', {
    scope: 'col', tabindex: '0', 'aria-sort': 'none', 'data-key': c.key, text: c.label,
    onclick: () => sortBy(c), onkeydown: (e) => { if (e.key === 'Enter') sortBy(c); },
  }))));
  const tbl = h('table', { class: 'data' }, head, body);
  const wrap = h('div', { class: virtual ? 'table-wrap virtual' : 'table-wrap', tabindex: '0' }, tbl);
  if (virtual) wrap.style.cssText = 'max-height:480px;overflow:auto';

  function value(row, c) { return c.sort ? c.sort(row) : row[c.key]; }
  function sortBy(c) {
    dir = sortKey === c.key ? -dir : 1;
    sortKey = c.key;
    sorted.sort((a, b) => {
      const x = value(a, c); const y = value(b, c);
      if (x == null) return 1; if (y == null) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    for (const th of head.querySelectorAll('th')) th.setAttribute('aria-sort', th.dataset.key === c.key ? (dir > 0 ? 'ascending' : 'descending') : 'none');
    draw();
  }
  function rowEl(row, i) {
    const tr = h('tr', { 'data-key': String(rowKey(row)), 'data-index': String(i), class: [rowClass ? rowClass(row) : '', i === active ? 'active' : ''].join(' ').trim(), onclick: () => { active = i; onSelect && onSelect(row); draw(); } },
      ...columns.map((c) => { const v = c.render ? c.render(row) : row[c.key]; return h('td', {}, v instanceof Node ? v : (v ?? '')); }));
    return tr;
  }
  function draw() {
    if (!virtual) { body.replaceChildren(...sorted.map(rowEl)); return; }
    const first = Math.max(0, Math.floor(wrap.scrollTop / ROW_H) - 10);
    const count = Math.ceil((wrap.clientHeight || 480) / ROW_H) + 20;
    const last = Math.min(sorted.length, first + count);
    const top = h('tr', { class: 'spacer' }, h('td', { colspan: String(columns.length) })); top.style.height = `${first * ROW_H}px`;
    const bottom = h('tr', { class: 'spacer' }, h('td', { colspan: String(columns.length) })); bottom.style.height = `${(sorted.length - last) * ROW_H}px`;
    const shown = [];
    for (let i = first; i < last; i++) { const tr = rowEl(sorted[i], i); tr.style.height = `${ROW_H}px`; shown.push(tr); }
    body.replaceChildren(top, ...shown, bottom);
  }
  wrap.addEventListener('scroll', () => { if (virtual) requestAnimationFrame(draw); });
  wrap.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') active = Math.min(sorted.length - 1, active + 1);
    else if (e.key === 'ArrowUp') active = Math.max(0, active - 1);
    else if (e.key === 'Enter') { onSelect && onSelect(sorted[active]); return; } else return;
    e.preventDefault(); draw();
  });
  draw();
  return wrap;
}

export function fmtTime(iso) { return iso ? new Date(iso).toLocaleString() : ''; }
export function fmtDuration(s) { return s == null ? '' : s < 60 ? `${Math.round(s)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`; }
