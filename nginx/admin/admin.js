// /admin/: the operators' page (issue 11, API.md section 7).
//
// Design:
// - Everything goes through the public REST API with the admin's access
//   token as `Authorization: Bearer`. Tokens live in sessionStorage: a reload
//   keeps the operator signed in, the tokens die with the tab, are not shared
//   with other tabs (a refresh token is single use; two tabs refreshing the
//   same one would trip the theft detection and sign both out) and are never
//   written to disk for days as localStorage would. The CSP (script-src
//   'self', nothing inline, connect-src 'self') is what keeps other scripts
//   from reading them.
// - A 401 refreshes the pair once (one refresh in flight at a time) and
//   replays the request; if the refresh fails too, back to the login form.
// - Live data is polled, not pushed: bazaar-ws forwards user events and
//   image.ready to admins but not the `job:events` stream, and polling
//   GET /admin/events is what every proxy and phone handles. Queues and the
//   event stream every 2 s, pipelines every 15 s; nothing is polled while the
//   tab is hidden, and a 429 waits for Retry-After. About 65 requests per
//   minute in all, far under the per-user limit of 600.
// - The failed-jobs list shows one queue at a time, a page of 25 (the API's
//   cursor), "Load more" for the next; 1,000 failures cost one page.
// - Data from the API is only ever put in the page with textContent or
//   attributes set by the DOM API, never parsed as HTML.
// - Performance marks: `admin:queues`, `admin:failed`, and `admin:ready`
//   once both first renders are on screen (bench/admin_render.mjs reads them).
'use strict';

const API = '/api/v1';
const POLL_MS = 2000;
const PIPELINES_MS = 15000;
const FAILED_PAGE = 25;
const EVENTS_KEEP = 300;
const SPARK_SAMPLES = 60;
const STORE_KEY = 'bazaar.admin.session';

const $ = (id) => document.getElementById(id);

// el('td', {class: 'num', text: 3, dataset: {label: 'Waiting'}}, child...)
function el(tag, props = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === 'text') n.textContent = String(v);
    else if (k === 'class') n.className = v;
    else if (k === 'dataset') Object.assign(n.dataset, v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) n.addEventListener(ev, fn);
    else if (k in n && typeof v !== 'string') n[k] = v;
    else n.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) n.append(c);
  return n;
}

// ---------- session ----------

let session = null; // {accessToken, refreshToken, user}

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORE_KEY) || 'null');
    if (s && typeof s.accessToken === 'string' && typeof s.refreshToken === 'string') return s;
  } catch { /* a damaged entry is no session */ }
  return null;
}

function saveSession(s) {
  session = s;
  if (s) sessionStorage.setItem(STORE_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(STORE_KEY);
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

async function rawFetch(method, path, body, token) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(API + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store', credentials: 'omit',
  });
  let json = null;
  try { json = await res.json(); } catch { /* 204 or not JSON */ }
  return { res, json };
}

let refreshing = null;
function refreshSession() {
  if (!refreshing) {
    refreshing = (async () => {
      if (!session) return false;
      try {
        const { res, json } = await rawFetch('POST', '/auth/refresh', { refreshToken: session.refreshToken });
        if (!res.ok || !json?.data?.accessToken) return false;
        saveSession({ ...session, accessToken: json.data.accessToken, refreshToken: json.data.refreshToken });
        return true;
      } catch {
        return false;
      }
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

let backoffUntil = 0;

async function api(method, path, body) {
  if (!session) throw new ApiError(401, 'UNAUTHENTICATED', 'signed out');
  let { res, json } = await rawFetch(method, path, body, session.accessToken);
  if (res.status === 401) {
    if (await refreshSession()) ({ res, json } = await rawFetch(method, path, body, session.accessToken));
    if (res.status === 401) {
      signOut('Your session has ended; please sign in again.');
      throw new ApiError(401, 'UNAUTHENTICATED', 'session ended');
    }
  }
  if (res.status === 429) {
    const s = Number(res.headers.get('Retry-After')) || 5;
    backoffUntil = Date.now() + s * 1000;
  }
  if (!res.ok) {
    throw new ApiError(res.status, json?.error?.code, json?.error?.message);
  }
  return json ?? {};
}

// ---------- toasts, time ----------

function toast(message, bad = false) {
  const t = el('div', { class: bad ? 'toast bad' : 'toast', text: message });
  $('toasts').append(t);
  setTimeout(() => t.remove(), bad ? 7000 : 3500);
}

function ago(iso) {
  if (!iso) return '—';
  const ms = Date.now() - Date.parse(iso);
  if (!Number.isFinite(ms)) return String(iso);
  const s = Math.round(Math.abs(ms) / 1000);
  const span = s < 60 ? `${s}s` : s < 3600 ? `${Math.round(s / 60)} min` : s < 172800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} d`;
  return ms >= 0 ? `${span} ago` : `in ${span}`;
}

function timeEl(iso) {
  return el('time', { datetime: iso || '', title: iso || '', text: ago(iso) });
}

function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour12: false });
}

// ---------- queues ----------

const queueState = new Map(); // name -> {row, sample history, last counts}
let queuesMarked = false;

function sparkSvg(hist) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${SPARK_SAMPLES - 1} 20`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('aria-hidden', 'true');
  const max = Math.max(1, ...hist.map((h) => Math.max(h.p, h.f)));
  const offset = SPARK_SAMPLES - hist.length;
  const base = document.createElementNS(NS, 'line');
  for (const [k, v] of [['class', 'base'], ['x1', 0], ['x2', SPARK_SAMPLES - 1], ['y1', 19.5], ['y2', 19.5]]) base.setAttribute(k, v);
  svg.append(base);
  for (const [key, cls] of [['p', 'p'], ['f', 'f']]) {
    const line = document.createElementNS(NS, 'polyline');
    line.setAttribute('class', cls);
    line.setAttribute('points', hist.map((h, i) => `${i + offset},${(19 - (h[key] / max) * 18).toFixed(1)}`).join(' '));
    svg.append(line);
  }
  return svg;
}

function numCell(label, value, extra = '') {
  return el('td', { class: `num ${extra}`.trim(), text: value, dataset: { label } });
}

// A row is built once per queue and updated in place, so a button under the
// operator's finger (or focus) is never swapped out by the next poll.
function queueRow(name) {
  const c = {
    name: el('span', { text: name }),
    badge: el('span', { class: 'badge paused', text: 'paused', hidden: true }),
    waiting: numCell('Waiting', ''), active: numCell('Active', ''), delayed: numCell('Delayed', ''),
    completed: numCell('Completed', ''), failed: numCell('Failed', '', 'failed-n'),
    failedBtn: el('button', { type: 'button', class: 'count', title: 'Show the failed jobs',
      on: { click: () => selectFailedQueue(name, true) } }),
    spark: el('div', { class: 'spark', title: 'completed (green) and failed (red) jobs in the last minute, sampled every 2 s' }),
    pause: el('button', { type: 'button', class: 'small-btn' }),
  };
  c.pause.addEventListener('click', () => {
    const paused = queueState.get(name)?.last?.paused;
    setPaused(name, !paused, c.pause);
  });
  c.row = el('tr', { dataset: { queue: name } },
    el('td', { class: 'qname' }, c.name, ' ', c.badge),
    c.waiting, c.active, c.delayed, c.completed, c.failed,
    el('td', { class: 'spark-cell' }, c.spark),
    el('td', { class: 'act' }, c.pause));
  return c;
}

function renderQueues(list) {
  const body = $('queues').tBodies[0];
  const seen = new Set();
  list.sort((a, b) => a.name.localeCompare(b.name));
  list.forEach((q, i) => {
    seen.add(q.name);
    let st = queueState.get(q.name);
    if (!st) { st = { hist: [], cells: queueRow(q.name) }; queueState.set(q.name, st); }
    st.hist.push({ p: q.processedLastMinute || 0, f: q.failedLastMinute || 0 });
    if (st.hist.length > SPARK_SAMPLES) st.hist.shift();
    st.last = q;
    const c = st.cells;
    c.row.classList.toggle('paused', !!q.paused);
    c.badge.hidden = !q.paused;
    for (const k of ['waiting', 'active', 'delayed', 'completed']) c[k].textContent = String(q[k] ?? 0);
    c.failed.classList.toggle('has', q.failed > 0);
    if (q.failed > 0) { c.failedBtn.textContent = String(q.failed); if (c.failedBtn.parentNode !== c.failed) c.failed.replaceChildren(c.failedBtn); }
    else c.failed.textContent = String(q.failed ?? 0);
    c.spark.replaceChildren(sparkSvg(st.hist),
      el('span', { class: 'rate', text: `${q.processedLastMinute || 0}/min` }),
      q.failedLastMinute ? el('span', { class: 'rate failed-rate', text: `${q.failedLastMinute} failed` }) : '');
    const action = q.paused ? 'resume' : 'pause';
    if (c.pause.dataset.action !== action) {
      c.pause.dataset.action = action;
      c.pause.textContent = q.paused ? 'Resume' : 'Pause';
      c.pause.className = q.paused ? 'small-btn' : 'small-btn ghost';
      c.pause.setAttribute('aria-label', `${q.paused ? 'Resume' : 'Pause'} queue ${q.name}`);
    }
    c.pause.disabled = false;
    if (body.rows[i] !== c.row) body.insertBefore(c.row, body.rows[i] || null); // sorted place
  });
  for (const [name, st] of queueState) {
    if (!seen.has(name)) { st.cells.row.remove(); queueState.delete(name); }
  }
  $('queues-empty').hidden = list.length > 0;
  $('queues-updated').textContent = `updated ${new Date().toLocaleTimeString([], { hour12: false })}`;
  syncFailedSelector(list);
  syncEventsSelector(list);
  if (!queuesMarked) { queuesMarked = true; performance.mark('admin:queues'); maybeReady(); }
}

async function setPaused(name, paused, btn) {
  btn.disabled = true;
  try {
    await api('POST', `/admin/queues/${encodeURIComponent(name)}/${paused ? 'pause' : 'resume'}`);
    toast(`${name} ${paused ? 'paused' : 'resumed'}`);
    await pollQueues();
  } catch (e) {
    toast(`Could not ${paused ? 'pause' : 'resume'} ${name}: ${e.message}`, true);
    btn.disabled = false;
  }
}

async function pollQueues() {
  const j = await api('GET', '/admin/queues');
  renderQueues(Array.isArray(j.data) ? j.data : []);
}

// ---------- failed jobs ----------

const failed = { queue: null, cursor: null, pages: 0, count: null, chosenByUser: false, loading: false };
let failedMarked = false;

function syncFailedSelector(list) {
  const sel = $('failed-queue');
  const wanted = list.map((q) => `${q.name}\u0000${q.failed}`).join('\u0001');
  if (sel.dataset.sig !== wanted) {
    sel.dataset.sig = wanted;
    sel.replaceChildren(...list.map((q) => el('option', { value: q.name, text: q.failed > 0 ? `${q.name} (${q.failed})` : q.name })));
  }
  // Until the operator picks a queue, show the one with the most failures.
  if (!failed.chosenByUser) {
    const worst = [...list].sort((a, b) => b.failed - a.failed || a.name.localeCompare(b.name))[0];
    const next = worst && worst.failed > 0 ? worst.name : failed.queue ?? list[0]?.name ?? null;
    if (next !== failed.queue) { selectFailedQueue(next, false); return; }
  }
  if (failed.queue) sel.value = failed.queue;
  const q = list.find((x) => x.name === failed.queue);
  if (!q && failed.queue !== null && list.length) { selectFailedQueue(list[0].name, false); return; }
  if (!q) { if (!failedMarked) renderFailed([], null, true); return; }
  $('retry-all').disabled = q.failed === 0;
  // While a page is loading, the next poll compares again. A job retried
  // from this list is reloaded away even when the count did not move (a new
  // failure elsewhere in the queue can cancel the retry out of the count).
  const retriedShown = document.querySelector('#failed-list li.retried') !== null;
  if (failed.loading || (q.failed === failed.count && !retriedShown)) return;
  const changed = failed.count !== null || retriedShown;
  failed.count = q.failed;
  if (!changed) return;
  // New failures or retries: page one is reloaded in place unless the
  // operator is reading further pages.
  if (failed.pages <= 1) loadFailed(true);
  else {
    $('failed-notice').hidden = false;
    $('failed-notice').firstElementChild.textContent = `${q.name} now has ${q.failed} failed jobs.`;
  }
}

function selectFailedQueue(name, byUser) {
  if (byUser) {
    failed.chosenByUser = true;
    $('failed-title').scrollIntoView({ behavior: 'smooth', block: 'start' });
  }
  failed.queue = name;
  failed.count = queueState.get(name)?.last?.failed ?? null;
  if (name) $('failed-queue').value = name;
  loadFailed(true);
}

async function loadFailed(reset) {
  if (!failed.queue) { renderFailed([], null, true); return; }
  failed.loading = true;
  const q = failed.queue;
  const cursor = reset ? null : failed.cursor;
  try {
    const j = await api('GET', `/admin/queues/${encodeURIComponent(q)}/jobs?state=failed&limit=${FAILED_PAGE}` +
      (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''));
    if (q !== failed.queue) return; // another queue was picked meanwhile
    failed.pages = reset ? 1 : failed.pages + 1;
    renderFailed(Array.isArray(j.data) ? j.data : [], j.meta?.nextCursor ?? null, reset);
  } catch (e) {
    if (e.status === 404) renderFailed([], null, true); // the queue is gone
    else if (e.status !== 401) toast(`Failed jobs of ${q}: ${e.message}`, true);
  } finally {
    failed.loading = false;
  }
}

function jobItem(job) {
  const retryBtn = el('button', { type: 'button', class: 'small-btn', text: 'Retry',
    dataset: { action: 'retry', job: job.id }, 'aria-label': `Retry job ${job.id}`,
    on: { click: () => retryJob(job, retryBtn) } });
  const when = job.finishedAt || job.processedAt || job.createdAt;
  const detail = { id: job.id, name: job.name, data: job.data, attempts: job.attempts, attemptsMade: job.attemptsMade,
    priority: job.priority, backoff: job.backoff, createdAt: job.createdAt, processedAt: job.processedAt, finishedAt: job.finishedAt };
  return el('li', { dataset: { jobId: job.id } },
    el('div', { class: 'job-head' },
      el('span', { class: 'job-title' }, el('span', { text: job.name || '(no name)' }), ' ',
        el('span', { class: 'muted mono small', text: `#${job.id}` })),
      retryBtn),
    el('div', { class: 'job-meta' },
      `attempt ${job.attemptsMade ?? '?'} of ${job.attempts ?? '?'} · failed `, timeEl(when)),
    el('pre', { class: 'job-error', text: job.lastError || '(no error recorded)' }),
    el('details', {}, el('summary', { text: 'Job data' }), el('pre', { text: JSON.stringify(detail, null, 2) })));
}

function renderFailed(jobs, nextCursor, reset) {
  const list = $('failed-list');
  if (reset) { list.replaceChildren(); $('failed-notice').hidden = true; }
  list.append(...jobs.map(jobItem));
  failed.cursor = nextCursor;
  $('failed-more').hidden = !nextCursor;
  $('failed-empty').hidden = list.children.length > 0;
  $('failed-empty').textContent = failed.queue ? `No failed jobs in ${failed.queue}.` : 'No failed jobs.';
  if (!failedMarked) { failedMarked = true; performance.mark('admin:failed'); maybeReady(); }
}

async function retryJob(job, btn) {
  btn.disabled = true;
  try {
    await api('POST', `/admin/queues/${encodeURIComponent(failed.queue)}/jobs/${encodeURIComponent(job.id)}/retry`);
    btn.textContent = 'Queued';
    btn.closest('li')?.classList.add('retried');
    toast(`Job ${job.id} queued again`);
    setTimeout(() => pollQueues().catch(() => {}), 300);
  } catch (e) {
    btn.disabled = false;
    toast(`Retry of ${job.id} failed: ${e.message}`, true);
  }
}

async function retryAll() {
  const q = failed.queue;
  if (!q || !confirm(`Retry every failed job of ${q}?`)) return;
  try {
    const j = await api('POST', `/admin/queues/${encodeURIComponent(q)}/retry-failed`);
    toast(`${j.data?.retried ?? 0} jobs of ${q} queued again`);
    await pollQueues();
    loadFailed(true);
  } catch (e) {
    toast(`Retry all of ${q} failed: ${e.message}`, true);
  }
}

// ---------- events ----------

let lastEventId = null;
let eventsPaused = false;
const eventsBuffer = []; // newest first, what the list shows

function streamIdAfter(a, b) { // Redis stream ids "ms-seq"
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am > bm || (am === bm && as > bs);
}

function syncEventsSelector(list) {
  const sel = $('events-queue');
  const names = list.map((q) => q.name);
  if (sel.dataset.sig === names.join('\u0000')) return;
  sel.dataset.sig = names.join('\u0000');
  const keep = sel.value;
  sel.replaceChildren(el('option', { value: '', text: 'all' }), ...names.map((n) => el('option', { value: n, text: n })));
  sel.value = names.includes(keep) ? keep : '';
}

function eventItem(e, fresh) {
  const parts = [el('span', { class: 'mono', text: e.queue || '?' })];
  if (e.name) parts.push(' · ', el('span', { text: e.name }));
  if (e.jobId) parts.push(' ', el('span', { class: 'muted mono', text: `#${e.jobId}` }));
  if (e.attempt) parts.push(el('span', { class: 'muted', text: ` · attempt ${e.attempt}` }));
  if (e.durationMs !== undefined) parts.push(el('span', { class: 'muted', text: ` · ${e.durationMs} ms` }));
  if (e.dueAt) parts.push(el('span', { class: 'muted', text: ` · due ${clock(e.dueAt)}` }));
  return el('li', { class: fresh ? 'fresh' : '', dataset: { eventId: e.id, queue: e.queue || '', state: e.state || '', jobId: e.jobId || '' } },
    el('span', { class: 'ev-time', text: clock(e.at), title: e.at || '' }),
    el('span', { class: 'ev-state' }, el('span', { class: `badge ${e.state || ''}`, text: e.state || '?' })),
    el('span', { class: 'ev-what' }, ...parts),
    e.error ? el('span', { class: 'ev-err', text: e.error }) : null);
}

function renderEvents(freshIds) {
  const filter = $('events-queue').value;
  const shown = eventsBuffer.filter((e) => !filter || e.queue === filter);
  $('events-list').replaceChildren(...shown.map((e) => eventItem(e, freshIds?.has(e.id))));
  $('events-empty').hidden = shown.length > 0;
  $('events-empty').textContent = eventsBuffer.length ? 'No events for this queue yet.' : 'Waiting for events…';
}

async function pollEvents() {
  if (eventsPaused) return;
  const j = await api('GET', `/admin/events?limit=${lastEventId ? 100 : 50}`);
  const got = (Array.isArray(j.data) ? j.data : []).filter((e) => typeof e.id === 'string');
  const fresh = lastEventId ? got.filter((e) => streamIdAfter(e.id, lastEventId)) : got;
  if (fresh.length === 0 && lastEventId) return;
  if (got.length) lastEventId = got[0].id;
  eventsBuffer.unshift(...fresh);
  eventsBuffer.length = Math.min(eventsBuffer.length, EVENTS_KEEP);
  renderEvents(lastEventId ? new Set(fresh.map((e) => e.id)) : null);
}

// ---------- pipelines ----------

function branchesOf(data) {
  // API.md: "branches data, cache, image, ai, cleanup, each with its jobs".
  // Accept [{branch|name, jobs}], {branches: [...]} or {<branch>: [jobs]}.
  if (data && Array.isArray(data.branches)) data = data.branches;
  if (Array.isArray(data)) return data.map((b) => ({ name: String(b.branch ?? b.name ?? ''), jobs: Array.isArray(b.jobs) ? b.jobs : [] }));
  if (data && typeof data === 'object') return Object.entries(data).map(([name, jobs]) => ({ name, jobs: Array.isArray(jobs) ? jobs : (jobs?.jobs ?? []) }));
  return [];
}

async function runPipeline(path, label, btn) {
  btn.disabled = true;
  try {
    await api('POST', path);
    toast(`${label} started`);
    setTimeout(() => pollPipelines().catch(() => {}), 1000);
  } catch (e) {
    toast(`${label}: ${e.message}`, true);
  } finally {
    setTimeout(() => { btn.disabled = false; }, 1500);
  }
}

function lastRunCell(r) {
  if (!r) return el('td', { class: 'muted', text: 'never' });
  const status = String(r.status ?? '?');
  return el('td', {}, el('span', { class: `badge ${status}`, text: status }), ' ', timeEl(r.startedAt),
    r.durationMs !== undefined && r.durationMs !== null ? el('span', { class: 'muted small', text: ` · ${r.durationMs} ms` }) : null);
}

function renderPipelines(branches) {
  $('pipelines-unavailable').hidden = true;
  const out = branches.map((b) => {
    const runBranch = el('button', { type: 'button', class: 'small-btn', text: 'Run branch', dataset: { action: 'run-branch', branch: b.name },
      on: { click: () => runPipeline(`/admin/pipelines/${encodeURIComponent(b.name)}/run`, `Branch ${b.name}`, runBranch) } });
    const jobs = [...b.jobs].sort((x, y) => (x.priority ?? 0) - (y.priority ?? 0));
    const rows = jobs.map((job) => {
      const runJob = el('button', { type: 'button', class: 'small-btn ghost', text: 'Run', dataset: { action: 'run-job', job: String(job.id) },
        'aria-label': `Run job ${job.name || job.id}`,
        on: { click: () => runPipeline(`/admin/pipelines/jobs/${encodeURIComponent(job.id)}/run`, `Job ${job.name || job.id}`, runJob) } });
      const deps = Array.isArray(job.dependsOn) && job.dependsOn.length ? `after ${job.dependsOn.join(', ')}` : '';
      return el('tr', { dataset: { job: String(job.id) } },
        el('td', {}, el('div', { text: job.name || job.id }), el('div', { class: 'muted small mono', text: [job.id, deps].filter(Boolean).join(' · ') })),
        el('td', { class: 'cron', title: job.timezone || 'UTC', text: job.cron ? `${job.cron} ${job.timezone && job.timezone !== 'UTC' ? job.timezone : ''}`.trim() : '—' }),
        el('td', {}, el('span', { class: `badge ${job.enabled ? 'enabled' : 'disabled'}`, text: job.enabled ? 'on' : 'off' })),
        el('td', {}, job.nextRunAt ? timeEl(job.nextRunAt) : el('span', { class: 'muted', text: '—' })),
        lastRunCell(job.lastRun),
        el('td', {}, runJob));
    });
    return el('div', { class: 'branch', dataset: { branch: b.name } },
      el('div', { class: 'branch-head' }, el('h3', { text: b.name }), runBranch),
      el('div', { class: 'table-wrap' }, el('table', {},
        el('thead', {}, el('tr', {}, ...['Job', 'Cron', 'Enabled', 'Next run', 'Last run', ''].map((t) => el('th', { scope: 'col', text: t })))),
        el('tbody', {}, ...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '6', class: 'muted', text: 'No jobs in this branch.' }))])))));
  });
  $('pipelines-list').replaceChildren(...out);
  if (!out.length) $('pipelines-list').append(el('p', { class: 'muted', text: 'No pipeline jobs are registered.' }));
  $('pipelines-updated').textContent = `updated ${new Date().toLocaleTimeString([], { hour12: false })}`;
}

async function pollPipelines() {
  try {
    const j = await api('GET', '/admin/pipelines');
    renderPipelines(branchesOf(j.data));
  } catch (e) {
    if (e.status !== 404) throw e;
    $('pipelines-list').replaceChildren();
    $('pipelines-unavailable').hidden = false;
  }
}

// ---------- polling ----------

const loops = [];
// A loop polls fn every ms while started. Each start/stop begins a new
// generation, so a request still in flight from before a sign-out never
// schedules a second chain after the next sign-in.
function every(ms, fn) {
  let timer = null;
  let gen = 0;
  let running = false;
  const tick = async (g) => {
    if (g !== gen) return;
    if (!document.hidden && Date.now() >= backoffUntil) {
      try {
        await fn();
        setStatus(true);
      } catch (e) {
        if (e.status !== 401) setStatus(false, e.message);
      }
    }
    if (g === gen) timer = setTimeout(() => tick(g), ms);
  };
  const restart = () => { gen++; clearTimeout(timer); tick(gen); };
  const loop = {
    start() { running = true; restart(); },
    stop() { running = false; gen++; clearTimeout(timer); },
    now() { if (running) restart(); },
  };
  loops.push(loop);
  return loop;
}

function setStatus(ok, why) {
  const d = $('poll-status');
  d.className = ok ? 'dot ok' : 'dot bad';
  d.title = ok ? 'live: polling the API' : `API not reachable: ${why || 'error'}`;
}

function maybeReady() {
  if (queuesMarked && failedMarked && !performance.getEntriesByName('admin:ready').length) {
    performance.mark('admin:ready');
    document.documentElement.dataset.ready = '1';
  }
}

// ---------- views ----------

function showLogin(message) {
  for (const l of loops) l.stop();
  $('dashboard').hidden = true;
  $('who').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = message || '';
  $('login-submit').disabled = false;
  $('login-email').focus();
}

function showDashboard() {
  $('login-view').hidden = true;
  $('dashboard').hidden = false;
  $('who').hidden = false;
  $('who-email').textContent = session.user?.email || 'admin';
  for (const l of loops) l.start();
}

function signOut(message) {
  saveSession(null);
  showLogin(message);
}

async function login(ev) {
  ev.preventDefault();
  $('login-error').textContent = '';
  $('login-submit').disabled = true;
  try {
    const { res, json } = await rawFetch('POST', '/auth/login', { email: $('login-email').value.trim(), password: $('login-password').value });
    if (!res.ok) {
      $('login-error').textContent = res.status === 429 ? 'Too many attempts; wait a minute.' : (json?.error?.message || `Sign-in failed (HTTP ${res.status}).`);
      return;
    }
    const d = json.data;
    if (d?.user?.role !== 'admin') {
      $('login-error').textContent = 'This account is not an operator (admin role needed).';
      // Its tokens are of no use here; drop them on the server too.
      rawFetch('POST', '/auth/logout', undefined, d?.accessToken).catch(() => {});
      return;
    }
    $('login-password').value = '';
    saveSession({ accessToken: d.accessToken, refreshToken: d.refreshToken, user: { id: d.user.id, email: d.user.email } });
    showDashboard();
  } catch (e) {
    $('login-error').textContent = `Network error: ${e.message}`;
  } finally {
    $('login-submit').disabled = false;
  }
}

async function logout() {
  const s = session;
  signOut('Signed out.');
  if (s) rawFetch('POST', '/auth/logout', undefined, s.accessToken).catch(() => {});
}

function init() {
  every(POLL_MS, pollQueues);
  every(POLL_MS, pollEvents);
  every(PIPELINES_MS, pollPipelines);
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('failed-queue').addEventListener('change', (e) => selectFailedQueue(e.target.value, true));
  $('failed-more').addEventListener('click', () => loadFailed(false));
  $('failed-reload').addEventListener('click', () => loadFailed(true));
  $('retry-all').addEventListener('click', retryAll);
  $('events-queue').addEventListener('change', () => renderEvents(null));
  $('events-pause').addEventListener('click', (e) => {
    eventsPaused = !eventsPaused;
    e.target.textContent = eventsPaused ? 'Resume' : 'Pause';
    e.target.setAttribute('aria-pressed', String(eventsPaused));
  });
  document.addEventListener('visibilitychange', () => { if (!document.hidden && session) for (const l of loops) l.now(); });
  session = loadSession();
  if (session) showDashboard();
  else showLogin();
}

init();
