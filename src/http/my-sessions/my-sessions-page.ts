import { escapeHtml } from '../../auth/pages/html.js';

/** The page's layout: wider than the OAuth pages, a table and a message log. */
export const STYLE = `
main{max-width:72rem}table{border-collapse:collapse;width:100%;font-size:.88rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e1e4e8;vertical-align:top}
th{font-weight:600;background:#f6f7f9}tr.tapped td{background:#eef4ff}
td code{font-size:.82rem}.bar{display:flex;justify-content:space-between;align-items:center;gap:1rem;flex-wrap:wrap}
#tap-log{max-height:32rem;overflow-y:auto;border:1px solid #e1e4e8;border-radius:6px;padding:.5rem;background:#fbfbfc}
.event{border-bottom:1px solid #eceef1;padding:.35rem 0}.event:last-child{border-bottom:0}
.event .head{font-size:.85rem}.event pre{margin:.25rem 0 0;font-size:.78rem;background:#eef0f3;padding:.4rem;border-radius:4px;white-space:pre-wrap;word-break:break-all}
.dir-client-to-server .arrow{color:#2456d6}.dir-server-to-client .arrow{color:#1b7f3b}.dir-control .arrow{color:#a15c00}
button.small{padding:.15rem .6rem;font-size:.85rem}`;

/** The page: who is signed in, the sessions table (filled by the script), the live tap. */
export function pageBody(userId: string): string {
  return `<div class="bar"><h1>My sessions</h1>
<form method="post" action="/my/logout"><span class="note">Signed in as <code id="user-id">${escapeHtml(userId)}</code></span> <button type="submit" id="sign-out" class="small">Sign out</button></form></div>
<p class="note">Your sessions on every instance of this server, refreshed every few seconds. Choose <em>Tap</em> to watch one session's messages, in both directions, as they cross between instances.</p>
<table id="sessions"><thead><tr><th>Session</th><th>Client</th><th>Protocol</th><th>Created</th><th>Last activity</th><th>Instance</th><th>Streams</th><th>In flight</th><th>Tasks</th><th>Subscriptions</th><th></th></tr></thead>
<tbody></tbody></table>
<p id="empty" class="note" hidden>No live sessions. Connect a client to this server as this user, and it appears here.</p>
<p id="status" class="note"></p>
<section id="tap" hidden><div class="bar"><h2>Live tap of <code id="tap-session"></code></h2><button type="button" id="tap-stop" class="small">Stop</button></div>
<p id="tap-state" class="note"></p><div id="tap-log"></div></section>`;
}

/**
 * The page's script: constant text, run under the page's nonce; it builds
 * everything it shows with textContent, never HTML from data.
 */
export const SCRIPT = `
(() => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
  const time = (ms) => ms ? new Date(ms).toLocaleTimeString() : '';
  const ago = (ms) => { const s = Math.max(0, Math.round((Date.now() - ms) / 1000)); return s < 60 ? s + ' s ago' : Math.round(s / 60) + ' min ago'; };
  let tapped = null, source = null, shown = 0;
  const MAX_SHOWN = 500;

  function streams(s) {
    const parts = [];
    if (s.streams.request) parts.push(s.streams.request + ' request');
    if (s.streams.standalone) parts.push(s.streams.standalone + ' GET');
    if (s.streams.legacy) parts.push(s.streams.legacy + ' SSE');
    return parts.length ? parts.join(', ') : 'none';
  }

  function render(data) {
    const body = $('sessions').tBodies[0];
    body.replaceChildren();
    for (const s of data.sessions) {
      const row = document.createElement('tr');
      row.dataset.sessionId = s.sessionId;
      if (s.sessionId === tapped) row.className = 'tapped';
      const cells = [
        ['session', s.sessionId, true],
        ['client', s.client ? s.client.name + ' ' + s.client.version : '(not initialized)'],
        ['protocol', (s.protocolVersion || '?') + ' (' + s.era + ', ' + (s.transport === 'sse' ? 'HTTP+SSE' : 'Streamable HTTP') + ')'],
        ['created', time(s.createdAt)],
        ['last-activity', ago(s.lastActivity)],
        ['instance', s.instanceId || '(none: resumes on next request)', true],
        ['streams', streams(s)],
        ['in-flight', String(s.inFlight)],
        ['tasks', String(s.runningTasks)],
        ['subscriptions', s.subscriptions.length ? s.subscriptions.join(', ') : 'none'],
      ];
      for (const [field, text, code] of cells) {
        const td = document.createElement('td');
        td.dataset.field = field;
        td.append(code ? el('code', text) : document.createTextNode(text));
        row.append(td);
      }
      const action = document.createElement('td');
      const button = el('button', 'Tap', 'small');
      button.type = 'button';
      button.dataset.tap = s.sessionId;
      button.addEventListener('click', () => tap(s.sessionId));
      action.append(button);
      row.append(action);
      body.append(row);
    }
    $('empty').hidden = data.sessions.length > 0;
    $('status').textContent = 'Updated ' + new Date().toLocaleTimeString() + ' · ' + data.instances.answered + ' of ' + data.instances.heard + ' instances answered';
  }

  async function refresh() {
    try {
      const response = await fetch('/my/sessions', { headers: { accept: 'application/json' }, credentials: 'same-origin' });
      if (response.status === 401) { location.href = '/my/login'; return; }
      if (response.ok) render(await response.json());
      else $('status').textContent = 'Could not refresh (' + response.status + ')';
    } catch { $('status').textContent = 'Could not refresh (offline?)'; }
  }

  function show(event) {
    const item = el('div', undefined, 'event dir-' + event.direction);
    const message = event.message || {};
    const summary = event.kind !== 'message' ? event.kind
      : message.method ? message.method + (message.id !== undefined ? ' #' + message.id : '')
      : message.id !== undefined ? (message.error ? 'error' : 'result') + ' #' + message.id : 'message';
    item.dataset.direction = event.direction;
    item.dataset.kind = event.kind;
    if (message.method) item.dataset.method = message.method;
    const arrow = event.direction === 'client-to-server' ? 'client → server' : event.direction === 'server-to-client' ? 'server → client' : 'control';
    const head = el('div', undefined, 'head');
    head.append(el('span', time(event.at) + ' '), el('strong', arrow, 'arrow'), el('span', ' ' + summary + ' '), el('code', event.channel));
    item.append(head, el('pre', JSON.stringify(event.message !== undefined ? event.message : event.detail, null, 2)));
    const log = $('tap-log');
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    log.append(item);
    if (++shown > MAX_SHOWN) { log.firstChild.remove(); shown -= 1; }
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function stop(note) {
    if (source) source.close();
    source = null;
    if (note) $('tap-state').textContent = note;
  }

  function tap(sessionId) {
    stop();
    tapped = sessionId;
    shown = 0;
    $('tap').hidden = false;
    $('tap-session').textContent = sessionId;
    $('tap-log').replaceChildren();
    $('tap-state').textContent = 'Connecting…';
    for (const row of $('sessions').tBodies[0].rows) row.className = row.dataset.sessionId === sessionId ? 'tapped' : '';
    source = new EventSource('/my/sessions/' + encodeURIComponent(sessionId) + '/tap');
    source.addEventListener('ready', () => { $('tap-state').textContent = 'Listening: messages appear as they cross.'; });
    source.addEventListener('tap', (e) => show(JSON.parse(e.data)));
    source.addEventListener('dropped', (e) => { $('tap-state').textContent = JSON.parse(e.data).count + ' messages were dropped while this page was not reading.'; });
    source.addEventListener('end', (e) => stop('Tap ended: ' + JSON.parse(e.data).reason));
    source.onerror = () => { if (source && source.readyState === EventSource.CLOSED) stop('Tap closed.'); };
  }

  $('tap-stop').addEventListener('click', () => { stop('Stopped.'); tapped = null; refresh(); });
  refresh();
  setInterval(() => { if (!document.hidden) refresh(); }, 3000);
})();
`;
