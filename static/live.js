// Live view: appends events from the Server-Sent Events stream. Text goes in through
// textContent only, never as HTML: paths, sources and event names come from visitors.
// The server ends a stream now and then (and when the login ends); EventSource reconnects by
// itself, and the new stream starts with the newest events again, so rows already shown are
// skipped by id. A reconnect that is refused (logged out) closes the source for good.
(() => {
  const status = document.getElementById('live-status');
  const body = document.getElementById('live-events');
  if (!status || !body || !window.EventSource) return;
  const MAX_ROWS = 200;
  const shown = new Set();
  const source = new EventSource(status.dataset.stream);
  const cell = (row, text) => { row.insertCell().textContent = text == null ? '' : String(text); };
  source.onopen = () => { status.textContent = 'Connected: new events appear at the top as they are stored.'; };
  source.onerror = () => {
    status.textContent = source.readyState === EventSource.CLOSED
      ? 'Disconnected. Reload the page (you may need to log in again).'
      : 'Connection lost, reconnecting…';
  };
  source.onmessage = (message) => {
    let e;
    try { e = JSON.parse(message.data); } catch { return; }
    if (shown.has(e.id)) return;
    shown.add(e.id);
    const row = body.insertRow(0);
    row.dataset.id = e.id;
    cell(row, e.time);
    cell(row, e.name);
    cell(row, e.path);
    cell(row, e.source || 'Direct / none');
    cell(row, e.country || '');
    cell(row, [e.browser, e.os, e.device].filter(Boolean).join(' · '));
    while (body.rows.length > MAX_ROWS) {
      shown.delete(Number(body.rows[body.rows.length - 1].dataset.id));
      body.deleteRow(-1);
    }
  };
})();
