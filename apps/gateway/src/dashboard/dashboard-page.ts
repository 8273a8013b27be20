/**
 * The dashboard page: one self-contained HTML document (no build step, no external asset). Its script
 * opens `/dashboard/events` with EventSource (which reconnects by itself after a gateway restart) and
 * redraws from each snapshot; the chart is an inline SVG it draws itself. Text from snapshots goes
 * through `textContent` only.
 */
export const dashboardPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bulwark gateway</title>
<style>
:root { --bg:#0f1419; --panel:#182028; --text:#d8dee4; --dim:#8b98a5; --ok:#3fb950; --bad:#f85149; --warn:#d29922; --line:#2a3440; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }
header { display:flex; align-items:center; gap:16px; padding:12px 20px; border-bottom:1px solid var(--line); }
h1 { font-size:18px; margin:0; }
h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); margin:0 0 8px; }
main { padding:16px 20px; display:grid; gap:16px; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); }
section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
section.wide { grid-column: 1 / -1; }
table { width:100%; border-collapse:collapse; font-variant-numeric: tabular-nums; }
th, td { text-align:left; padding:4px 8px 4px 0; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--dim); font-weight:500; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-weight:600; font-size:12px; }
.closed { background:rgba(63,185,80,.15); color:var(--ok); }
.open { background:rgba(248,81,73,.18); color:var(--bad); }
.half-open { background:rgba(210,153,34,.18); color:var(--warn); }
.err { color:var(--bad); } .dim { color:var(--dim); } .ok { color:var(--ok); }
.kpis { display:flex; gap:24px; flex-wrap:wrap; }
.kpi b { display:block; font-size:22px; }
#status { margin-left:auto; font-size:12px; }
.trail { display:flex; flex-wrap:wrap; gap:2px 8px; } .trail span { white-space:nowrap; }
svg text { fill:var(--dim); font-size:10px; }
</style>
</head>
<body>
<header><h1>Bulwark gateway</h1><span class="dim" id="uptime"></span><span id="status" class="dim">connecting…</span></header>
<main>
<section class="wide"><h2>Targets</h2>
<table><thead><tr><th>Target</th><th>Breaker</th><th>p50 / p99</th><th>Attempts</th><th>Errors by class</th><th>Queue</th><th>Remaining</th><th>Spend</th></tr></thead>
<tbody id="targets"><tr><td class="dim" colspan="8">No calls yet</td></tr></tbody></table></section>
<section><h2>Calls</h2><div class="kpis">
<div class="kpi"><b id="calls">0</b>calls</div><div class="kpi"><b id="failed">0</b>failed</div>
<div class="kpi"><b id="retries">0</b>retries</div><div class="kpi"><b id="fallbacks">0</b>fallbacks</div>
<div class="kpi"><b id="openings">0</b>breaker openings</div><div class="kpi"><b id="waits">0</b>limiter waits</div></div></section>
<section><h2>Cache and spend</h2><div class="kpis">
<div class="kpi"><b id="hit-ratio">–</b>cache hit ratio</div><div class="kpi"><b id="hits">0</b>hits</div>
<div class="kpi"><b id="saved">$0</b>saved</div><div class="kpi"><b id="spend">$0</b>spent</div></div></section>
<section><h2>Requests and errors</h2><svg id="chart" width="100%" height="120" viewBox="0 0 300 120" preserveAspectRatio="none" role="img" aria-label="requests and errors over time"></svg>
<div class="dim"><span class="ok">■</span> requests <span class="err">■</span> errors, per <span id="bucket"></span></div></section>
<section class="wide"><h2>Last calls</h2>
<table><thead><tr><th>Time</th><th>Model</th><th>Answered by</th><th>Result</th><th>Duration</th><th>Attempt trail</th></tr></thead>
<tbody id="recent"><tr><td class="dim" colspan="6">No calls yet</td></tr></tbody></table></section>
</main>
<script>
(function () {
  var last = null, skew = 0;
  function el(tag, text, cls) { var node = document.createElement(tag); if (text !== undefined) node.textContent = String(text); if (cls) node.className = cls; return node; }
  function usd(value) { return value >= 0.01 || value === 0 ? '$' + value.toFixed(2) : '$' + value.toFixed(5); }
  function ms(value) { return value === undefined ? '–' : value < 1000 ? Math.round(value) + ' ms' : (value / 1000).toFixed(1) + ' s'; }
  function row(cells) { var tr = el('tr'); cells.forEach(function (cell) { var td = el('td'); if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell; tr.appendChild(td); }); return tr; }
  function breaker(target, now) {
    var span = el('span', target.breaker, 'badge ' + target.breaker);
    span.setAttribute('data-breaker', target.breaker);
    var box = el('span'); box.appendChild(span);
    if (target.breaker === 'open' && target.nextProbeAt !== undefined) box.appendChild(el('span', ' probe in ' + ms(Math.max(0, target.nextProbeAt - now)), 'dim'));
    return box;
  }
  function errorsText(errors) { var keys = Object.keys(errors); return keys.length ? keys.map(function (k) { return k + ' ' + errors[k]; }).join(', ') : '–'; }
  function trail(call) {
    var box = el('span', undefined, 'trail');
    call.attempts.forEach(function (attempt) {
      var text = attempt.target + (attempt.error ? ' ✗ ' + attempt.error + (attempt.status ? ' ' + attempt.status : '') : ' ✓') + (attempt.local ? ' (local)' : '') + (attempt.waitMs !== undefined ? ' → wait ' + ms(attempt.waitMs) : '');
      box.appendChild(el('span', text, attempt.error ? 'err' : 'ok'));
    });
    if (call.cache === 'hit') box.appendChild(el('span', 'cache hit', 'ok'));
    if (call.queuedMs) box.appendChild(el('span', 'queued ' + ms(call.queuedMs), 'dim'));
    return box;
  }
  function chart(series) {
    var svg = document.getElementById('chart'), ns = 'http://www.w3.org/2000/svg';
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var n = series.requests.length, max = Math.max(1, Math.max.apply(null, series.requests)), w = 300 / n;
    series.requests.forEach(function (count, i) {
      var h = (count / max) * 100, bar = document.createElementNS(ns, 'rect');
      bar.setAttribute('x', i * w); bar.setAttribute('y', 110 - h); bar.setAttribute('width', Math.max(1, w - 1)); bar.setAttribute('height', h); bar.setAttribute('fill', '#3fb950'); svg.appendChild(bar);
      var e = (series.errors[i] / max) * 100;
      if (e > 0) { var red = document.createElementNS(ns, 'rect'); red.setAttribute('x', i * w); red.setAttribute('y', 110 - e); red.setAttribute('width', Math.max(1, w - 1)); red.setAttribute('height', e); red.setAttribute('fill', '#f85149'); svg.appendChild(red); }
    });
    var label = document.createElementNS(ns, 'text'); label.setAttribute('x', 2); label.setAttribute('y', 10); label.textContent = 'max ' + max; svg.appendChild(label);
    document.getElementById('bucket').textContent = (series.bucketMs / 1000) + ' s over ' + Math.round(n * series.bucketMs / 60000) + ' min';
  }
  function render(snapshot) {
    var now = snapshot.now + (Date.now() - skew);
    var body = document.getElementById('targets');
    body.replaceChildren();
    if (!snapshot.targets.length) body.appendChild(row(['No calls yet']));
    snapshot.targets.forEach(function (target) {
      var tr = row([target.target, breaker(target, now), ms(target.p50Ms) + ' / ' + ms(target.p99Ms), target.attempts + (target.failures ? ' (' + target.failures + ' failed)' : ''), errorsText(target.errors), String(target.queueLength),
        target.remainingRequests !== undefined ? target.remainingRequests + ' req' + (target.remainingTokens !== undefined ? ', ' + target.remainingTokens + ' tok' : '') : '–', usd(target.spendUsd)]);
      tr.setAttribute('data-target', target.target);
      body.appendChild(tr);
    });
    var t = snapshot.totals;
    [['calls', t.calls], ['failed', t.failedCalls], ['retries', t.retries], ['fallbacks', t.fallbacks], ['openings', t.breakerOpenings], ['waits', t.limiterWaits]].forEach(function (pair) { document.getElementById(pair[0]).textContent = pair[1]; });
    document.getElementById('hit-ratio').textContent = snapshot.cache.hits + snapshot.cache.misses ? Math.round(snapshot.cache.hitRatio * 100) + '%' : '–';
    document.getElementById('hits').textContent = snapshot.cache.hits;
    document.getElementById('saved').textContent = usd(snapshot.cache.savedUsd);
    document.getElementById('spend').textContent = usd(t.spendUsd);
    var recent = document.getElementById('recent');
    recent.replaceChildren();
    if (!snapshot.recent.length) recent.appendChild(row(['No calls yet']));
    snapshot.recent.forEach(function (call) {
      var result = call.error ? el('span', call.error, 'err') : el('span', call.fallback ? 'ok (fallback)' : 'ok', 'ok');
      recent.appendChild(row([new Date(call.at).toLocaleTimeString(), call.model, call.answeredBy || (call.cache === 'hit' ? 'cache' : '–'), result, ms(call.durationMs), trail(call)]));
    });
    chart(snapshot.series);
    document.getElementById('uptime').textContent = 'up ' + ms(snapshot.now - snapshot.startedAt);
  }
  function connect() {
    var source = new EventSource('/dashboard/events');
    var status = document.getElementById('status');
    source.addEventListener('open', function () { status.textContent = 'live'; status.className = 'ok'; });
    source.addEventListener('error', function () { status.textContent = 'reconnecting…'; status.className = 'err'; });
    source.addEventListener('snapshot', function (message) { last = JSON.parse(message.data); skew = Date.now(); render(last); });
  }
  setInterval(function () { if (last) render(last); }, 1000);
  connect();
})();
</script>
</body>
</html>
`;
