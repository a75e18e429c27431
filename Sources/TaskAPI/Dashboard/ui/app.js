// taskd dashboard: one page, no build step, no dependencies. Data comes only from taskd's own routes,
// with the session cookie (HttpOnly: this script never sees it) and, on every change, the session's
// CSRF token in X-CSRF-Token. Text from tasks is only ever set as textContent, never as HTML.
'use strict';

const PAGE_SIZE = 25;
const ACTIVE = new Set(['queued', 'starting', 'running', 'impacted']);
const FINISHED = new Set(['completed', 'failed', 'cancelled', 'dismissed']);
const STREAM_KINDS = ['created', 'claimed', 'progress', 'status', 'deleted', 'snapshot'];

const state = {
  me: null,              // {key, role, name, csrfToken, expiresAt}
  filters: { status: '', commandType: '', objectName: '' },
  cursors: [null],       // cursor of each page visited; cursors[page] fetched that page
  page: 0,
  nextCursor: null,
  rows: new Map(),       // taskId -> latest task (native representation)
  events: null,          // EventSource of GET /v1/events
  detail: null,          // {id, source: EventSource, opsTimer}
  eventsReceived: 0,
};

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'text') node.textContent = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
};

class APIError extends Error {
  constructor(status, message, code) { super(message); this.status = status; this.code = code; }
}

async function api(method, path, { headers = {} } = {}) {
  const sent = { Accept: 'application/json', ...headers };
  if (method !== 'GET' && state.me && state.me.csrfToken) sent['X-CSRF-Token'] = state.me.csrfToken;
  const response = await fetch(path, { method, headers: sent, credentials: 'same-origin', cache: 'no-store' });
  const text = await response.text();
  let body = null;
  if (text) { try { body = JSON.parse(text); } catch (_) { body = null; } }
  if (!response.ok) {
    const message = (body && (body.description || body.message)) || `${response.status} ${response.statusText}`;
    const code = body && (body.type || body.error_code || body.code);
    if (response.status === 401 && path !== '/ui/login' && state.me) showLogin('Your session ended; log in again.');
    throw new APIError(response.status, message, code);
  }
  return body;
}

// ---- session ---------------------------------------------------------------------------------

async function start() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('filters').addEventListener('submit', (event) => { event.preventDefault(); applyFilters(); });
  $('filter-clear').addEventListener('click', () => { $('filters').reset(); applyFilters(); });
  $('page-first').addEventListener('click', () => goToPage(0));
  $('page-prev').addEventListener('click', () => goToPage(state.page - 1));
  $('page-next').addEventListener('click', () => goToPage(state.page + 1));
  $('detail-close').addEventListener('click', closeDetail);
  setInterval(refreshAges, 1000);
  try {
    const me = await api('GET', '/ui/session');
    if (me && me.csrfToken) return enter(me);
  } catch (_) { /* no session: the form */ }
  showLogin('');
}

async function login(event) {
  event.preventDefault();
  const key = $('login-key').value.trim();
  const secret = $('login-secret').value;
  $('login-error').textContent = '';
  let credential;
  try { credential = btoa(`${key}:${secret}`); } catch (_) {
    $('login-error').textContent = 'Keys and secrets are printable ASCII.';
    return;
  }
  try {
    const me = await api('POST', '/ui/login', { headers: { Authorization: `Basic ${credential}` } });
    $('login-secret').value = '';
    enter(me);
  } catch (error) {
    $('login-error').textContent = error.status === 401 ? 'That key or secret is wrong.' : error.message;
  }
}

async function logout() {
  stopStreams();
  try { await api('POST', '/ui/logout'); } catch (_) { /* the session is gone either way */ }
  showLogin('You are logged out.');
}

function showLogin(message) {
  stopStreams();
  state.me = null;
  state.rows.clear();
  $('task-rows').replaceChildren();
  closeDetail();
  document.body.dataset.view = 'login';
  $('dashboard').hidden = true;
  $('who').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('login-key').focus();
}

function enter(me) {
  state.me = me;
  document.body.dataset.view = 'dashboard';
  document.body.dataset.role = me.role;
  $('login').hidden = true;
  $('who').hidden = false;
  $('dashboard').hidden = false;
  $('who-name').textContent = me.name ? `${me.name} (${me.key})` : me.key;
  $('who-role').textContent = me.role;
  state.cursors = [null];
  state.page = 0;
  loadPage().then(openStream);
}

const canOperate = () => state.me && (state.me.role === 'operator' || state.me.role === 'admin');

// ---- the table -------------------------------------------------------------------------------

function applyFilters() {
  state.filters = {
    status: $('filter-status').value,
    commandType: $('filter-command').value.trim(),
    objectName: $('filter-object').value.trim(),
  };
  state.cursors = [null];
  state.page = 0;
  stopStream();
  loadPage().then(openStream);
}

function query(extra) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries({ ...state.filters, ...extra })) if (value) params.set(name, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

async function goToPage(page) {
  if (page < 0 || page >= state.cursors.length) return;
  state.page = page;
  await loadPage();
}

async function loadPage() {
  $('table-error').textContent = '';
  try {
    const list = await api('GET', `/v1/tasks${query({ limit: String(PAGE_SIZE), cursor: state.cursors[state.page] || '' })}`);
    state.rows.clear();
    $('task-rows').replaceChildren();
    for (const task of list.tasks) {
      state.rows.set(task.taskId, task);
      $('task-rows').append(row(task));
    }
    state.nextCursor = list.nextCursor || null;
    state.cursors.length = state.page + 1;
    if (state.nextCursor) state.cursors.push(state.nextCursor);
    updatePaging();
  } catch (error) {
    if (state.me) $('table-error').textContent = `Could not list tasks: ${error.message}`;
  }
}

function updatePaging() {
  $('page-number').textContent = `Page ${state.page + 1}`;
  $('page-first').disabled = state.page === 0;
  $('page-prev').disabled = state.page === 0;
  $('page-next').disabled = !state.nextCursor;
  $('empty').hidden = state.rows.size > 0;
}

function matchesFilters(task) {
  const f = state.filters;
  return (!f.status || task.lifecycleStatus === f.status) && (!f.commandType || task.commandType === f.commandType)
    && (!f.objectName || task.objectName === f.objectName);
}

function row(task) {
  const tr = el('tr', { dataset: { taskId: task.taskId, status: task.lifecycleStatus } });
  if (state.detail && state.detail.id === task.taskId) tr.setAttribute('aria-selected', 'true');
  tr.append(
    el('td', { 'data-label': 'Status' }, badge(task.lifecycleStatus)),
    el('td', { class: 'command', 'data-label': 'commandType' },
      el('button', { type: 'button', text: task.commandType, title: `Show task ${task.taskId}`, onclick: () => openDetail(task.taskId) })),
    el('td', { 'data-label': 'objectName', text: task.objectName || '—' }),
    el('td', { 'data-label': 'Progress' }, meter(task.progress, task.lifecycleStatus)),
    el('td', { 'data-label': 'State', text: task.state || '—' }),
    el('td', { 'data-label': 'Attempt', text: String(task.attempt) }),
    el('td', { class: 'age', 'data-label': 'Age', dataset: { since: String(createdAt(task.taskId)) }, text: ago(createdAt(task.taskId)) }),
    el('td', { class: 'age', 'data-label': 'Updated', dataset: { since: String(Date.parse(task.timestamp)) }, text: ago(Date.parse(task.timestamp)) }),
    el('td', { class: 'actions' }, ...actionButtons(task)),
  );
  return tr;
}

function badge(status) {
  return el('span', { class: 'badge', dataset: { status }, text: status });
}

function meter(progress, status) {
  const value = Math.max(0, Math.min(100, Number(progress) || 0));
  const text = `${Number.isInteger(value) ? value : value.toFixed(1)}%`;
  return el('span', { class: 'meter' },
    el('progress', { max: '100', value: String(value), 'aria-label': `progress ${text}`, dataset: { status: status || '' } }),
    el('span', { class: 'pct', text }));
}

/// Buttons only for what this role may do to a task in this status: a viewer gets none. A button
/// outlives the updates of its row (see upsert), so it acts on the task as last seen, not as it
/// was when the button was made.
function actionButtons(task) {
  if (!canOperate()) return [];
  const buttons = [];
  const label = `${task.commandType} ${task.taskId}`;
  const latest = () => state.rows.get(task.taskId) || task;
  if (ACTIVE.has(task.lifecycleStatus)) {
    buttons.push(el('button', { type: 'button', class: 'danger', 'data-action': 'cancel', 'aria-label': `Cancel ${label}`, text: 'Cancel',
      onclick: () => confirmCancel(latest()) }));
  }
  if (task.lifecycleStatus === 'failed') {
    buttons.push(el('button', { type: 'button', class: 'quiet', 'data-action': 'dismiss', 'aria-label': `Dismiss ${label}`, text: 'Dismiss',
      onclick: () => act(latest(), 'POST', `/v1/tasks/${task.taskId}/dismiss`) }));
  }
  if (FINISHED.has(task.lifecycleStatus)) {
    buttons.push(el('button', { type: 'button', class: 'quiet', 'data-action': 'delete', 'aria-label': `Delete ${label}`, text: 'Delete',
      onclick: () => act(latest(), 'DELETE', `/v1/tasks/${task.taskId}`) }));
  }
  return buttons;
}

/// `tr` shows `task` now: its cells are replaced, the row element stays, and so do its buttons
/// while the status (which decides them) is the same. A running task's progress events come
/// several a second; replacing the row each time replaced the Cancel button under the pointer,
/// and a click that spanned an update was lost (the browser test's click on it failed that way).
function refresh(tr, task) {
  const fresh = row(task);
  if (tr.dataset.status === task.lifecycleStatus) {
    fresh.querySelector('td.actions').replaceWith(tr.querySelector('td.actions'));
  }
  tr.replaceChildren(...fresh.childNodes);
  tr.dataset.status = task.lifecycleStatus;
  tr.toggleAttribute('aria-selected', fresh.hasAttribute('aria-selected'));
  return tr;
}

function upsert(task) {
  const rows = $('task-rows');
  const old = rows.querySelector(`tr[data-task-id="${CSS.escape(task.taskId)}"]`);
  if (!matchesFilters(task)) {
    if (old) { old.remove(); state.rows.delete(task.taskId); }
    return;
  }
  state.rows.set(task.taskId, task);
  const shown = old ? refresh(old, task) : row(task);
  if (state.page === 0) {
    // The first page is "most recent update first": a task that changed moves to the top (the
    // same element, moved only when it is not there already).
    if (rows.firstElementChild !== shown) rows.prepend(shown);
    while (rows.children.length > PAGE_SIZE) {
      const last = rows.lastElementChild;
      state.rows.delete(last.dataset.taskId);
      last.remove();
    }
  }
  updatePaging();
}

function removeRow(taskId) {
  const old = $('task-rows').querySelector(`tr[data-task-id="${CSS.escape(taskId)}"]`);
  if (old) old.remove();
  state.rows.delete(taskId);
  updatePaging();
}

// ---- live updates ----------------------------------------------------------------------------

/// GET /v1/events. EventSource reconnects by itself after a drop and sends Last-Event-ID, so taskd
/// resumes every shard where this page left off; only when the browser gives up (the session ended,
/// or taskd refused) does the page start over, re-reading the table first.
function openStream() {
  if (!state.me) return;
  stopStream();
  const source = new EventSource(`/v1/events${query({ status: '' })}`, { withCredentials: true });
  state.events = source;
  setStreamState('connecting');
  source.onopen = () => setStreamState('live');
  source.onerror = () => {
    if (state.events !== source) return;
    if (source.readyState === EventSource.CLOSED) {
      setStreamState('closed');
      state.events = null;
      // Closed for good: find out why (a 401 shows the login form), then start over.
      api('GET', '/ui/session').then(() => setTimeout(() => { if (state.me && !state.events) loadPage().then(openStream); }, 2000),
        () => {});
    } else {
      setStreamState('reconnecting');
    }
  };
  for (const kind of STREAM_KINDS) {
    source.addEventListener(kind, (event) => {
      state.eventsReceived += 1;
      document.body.dataset.eventsReceived = String(state.eventsReceived);
      const task = JSON.parse(event.data);
      if (kind === 'deleted' || !task.commandType) removeRow(task.taskId);
      else upsert(task);
    });
  }
  source.addEventListener('error', (event) => {
    // taskd's own `error` event (shutting down, session ended): EventSource reconnects by itself.
    if (event.data) setStreamState('reconnecting');
  });
}

function stopStream() {
  if (state.events) state.events.close();
  state.events = null;
  setStreamState('closed');
}

function stopStreams() {
  stopStream();
  if (state.detail && state.detail.source) state.detail.source.close();
}

function setStreamState(value) {
  const node = $('stream-state');
  node.dataset.state = value;
  node.textContent = value === 'live' ? 'live' : value;
  document.body.dataset.stream = value;
}

// ---- actions ---------------------------------------------------------------------------------

function confirmCancel(task) {
  const dialog = $('confirm-cancel');
  $('confirm-text').textContent = `${task.commandType} ${task.objectName ? `on ${task.objectName} ` : ''}(${task.taskId}) is ${task.lifecycleStatus}.`;
  $('confirm-force').checked = false;
  dialog.returnValue = '';
  dialog.onclose = () => {
    if (dialog.returnValue !== 'cancel') return;
    const force = $('confirm-force').checked;
    act(task, 'POST', `/v1/tasks/${task.taskId}/actions/cancel${force ? '?force=true' : ''}`);
  };
  dialog.showModal();
}

async function act(task, method, path) {
  const where = state.detail && state.detail.id === task.taskId ? $('detail-error') : $('table-error');
  where.textContent = '';
  try {
    const answer = await api(method, path);
    if (answer && answer.taskId) upsert(answer);
    if (method === 'DELETE') { removeRow(task.taskId); if (state.detail && state.detail.id === task.taskId) closeDetail(); }
  } catch (error) {
    where.textContent = error.status === 406
      ? 'The task is in its commit phase: cancel again with Force to interrupt it.'
      : `${error.message}`;
  }
}

// ---- task detail -----------------------------------------------------------------------------

function openDetail(taskId) {
  closeDetail();
  const source = new EventSource(`/v1/tasks/${encodeURIComponent(taskId)}/events`, { withCredentials: true });
  state.detail = { id: taskId, source, opsTimer: null };
  document.body.dataset.detail = 'open';
  $('detail').hidden = false;
  $('detail-history').replaceChildren();
  $('detail-error').textContent = '';
  for (const tr of $('task-rows').children) tr.toggleAttribute('aria-selected', tr.dataset.taskId === taskId);
  const known = state.rows.get(taskId);
  if (known) showTask(known);
  $('detail-id').textContent = taskId;
  $('detail').focus();
  for (const kind of STREAM_KINDS) {
    source.addEventListener(kind, (event) => {
      const task = JSON.parse(event.data);
      addHistory(kind, event.lastEventId, task);
      if (kind === 'deleted' || !task.commandType) { source.close(); return; }
      showTask(task);
      upsert(task);
      loadOpsSoon(taskId);
      // The stream ends after a terminal event: stop before the browser reconnects to an idle stream.
      if (task.lifecycleStatus !== 'failed' && FINISHED.has(task.lifecycleStatus)) source.close();
    });
  }
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED && state.detail && state.detail.source === source) {
      $('detail-error').textContent = 'The event stream of this task closed.';
    }
  };
  loadOpsSoon(taskId);
}

function closeDetail() {
  if (state.detail) {
    if (state.detail.source) state.detail.source.close();
    clearTimeout(state.detail.opsTimer);
  }
  state.detail = null;
  document.body.dataset.detail = 'closed';
  $('detail').hidden = true;
  for (const tr of $('task-rows').children) tr.removeAttribute('aria-selected');
}

function showTask(task) {
  $('detail-title').textContent = `${task.commandType}${task.objectName ? ` on ${task.objectName}` : ''}`;
  $('detail-status').replaceChildren(badge(task.lifecycleStatus));
  $('detail-id').textContent = task.taskId;
  $('detail-command').textContent = task.commandType;
  $('detail-object').textContent = task.objectName || '—';
  $('detail-description').textContent = task.taskDescription || task.description || '—';
  $('detail-state').textContent = task.state || '—';
  $('detail-attempt').textContent = String(task.attempt);
  $('detail-progress').replaceChildren(meter(task.progress, task.lifecycleStatus));
  const error = task.response && task.response.error;
  $('detail-error').textContent = error ? `${error.type}: ${error.description}` : '';
  $('detail-actions').replaceChildren(...actionButtons(task));
}

function addHistory(kind, id, task) {
  const ms = Number(String(id || '').split('-')[0]) || Date.now();
  const parts = [kind, task.lifecycleStatus];
  if (task.progress != null) parts.push(`${task.progress}%`);
  if (task.state) parts.push(task.state);
  $('detail-history').append(el('li', {}, el('time', { datetime: new Date(ms).toISOString(), text: clock(ms) }), ` ${parts.join(' · ')}`));
}

/// The per-op bars come from the Redis Software view of the task (`pending_ops`), read at most
/// every 300 ms while events arrive.
function loadOpsSoon(taskId) {
  const detail = state.detail;
  if (!detail || detail.id !== taskId || detail.opsTimer) return;
  detail.opsTimer = setTimeout(async () => {
    detail.opsTimer = null;
    try {
      const action = await api('GET', `/v1/actions/${encodeURIComponent(taskId)}`);
      if (state.detail === detail) showOps(action.pending_ops || {});
    } catch (_) { /* the task may be gone; the history says so */ }
  }, 300);
}

function showOps(ops) {
  const list = $('detail-ops');
  const ids = Object.keys(ops).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  if (ids.length === 0) { list.replaceChildren(el('li', { class: 'empty', text: 'No operations reported.' })); return; }
  list.replaceChildren(...ids.map((id) => {
    const op = ops[id] || {};
    const name = [op.op_name, op.status_code].filter(Boolean).join(' · ');
    return el('li', { dataset: { op: id } },
      el('span', { class: 'op-name', text: `op ${id} ` }, el('small', { text: [name, op.status_description].filter(Boolean).join(' — ') })),
      meter(op.progress || 0, op.status_code === 'done' ? 'completed' : ''));
  }));
}

// ---- time ------------------------------------------------------------------------------------

/// A taskd task id is a UUIDv7: its first 48 bits are when it was created, in ms.
function createdAt(taskId) {
  const hex = taskId.replace(/-/g, '').slice(0, 12);
  return parseInt(hex, 16) || Date.now();
}

function ago(ms) {
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

function refreshAges() {
  for (const cell of document.querySelectorAll('td.age')) cell.textContent = ago(Number(cell.dataset.since));
}

document.addEventListener('DOMContentLoaded', start);
