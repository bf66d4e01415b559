/**
 * GET /ops: the duty officer's page, whole — inline CSS and JS, no CDN, no
 * build step. It lives in a .ts module (tsc does not copy .html into dist/),
 * is loaded once with the process, and carries no data: everything it shows
 * comes from the ops API with the token the officer types in (kept in
 * sessionStorage for the tab's lifetime).
 *
 * The page's script avoids template literals, so this file's own template
 * literal never needs escaping; its inline script and style are allowed by
 * their hashes in the Content-Security-Policy (routes.ts).
 */
export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="ru">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Okno — оперативная панель / Operations dashboard</title>
<style>
:root {
  --bg: #f4f6f9; --panel: #ffffff; --ink: #17202b; --muted: #4d5b6a; --line: #c9d2dc;
  --accent: #1f5fa8; --ok: #1d7a3a; --bad: #b3261e; --warn: #8a5a00; --focus: #ffbf47;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  font-size: 14px; color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
header { display: flex; align-items: center; gap: 16px; padding: 10px 20px; background: #17202b; color: #fff; }
header h1 { font-size: 18px; margin: 0; font-weight: 600; }
header .spacer { flex: 1; }
.en { color: var(--muted); font-weight: normal; }
header .en { color: #b8c4d0; }
.live { display: inline-flex; align-items: center; gap: 6px; font-size: 13px; }
.live .dot { width: 10px; height: 10px; border-radius: 50%; background: #8a96a3; }
.live.on .dot { background: #3ccf6b; }
.live.off .dot { background: #ff6b5e; }
button, input { font: inherit; }
button { white-space: nowrap; cursor: pointer; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; padding: 5px 12px; }
button.secondary { background: transparent; color: inherit; border-color: #8a96a3; }
button:disabled { opacity: .6; cursor: default; }
button:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid var(--focus); outline-offset: 1px; }
input[type=text], input[type=password] { border: 1px solid #8a96a3; border-radius: 4px; padding: 5px 8px; min-width: 18em; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; padding: 16px 20px; }
main[hidden], #login[hidden] { display: none; }
section.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 15px; margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #e3e8ee; vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.bad { color: var(--bad); font-weight: 600; }
.good { color: var(--ok); }
.warn { color: var(--warn); }
.muted { color: var(--muted); }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; overflow-wrap: anywhere; }
.empty { color: var(--muted); font-style: italic; }
#login { max-width: 460px; margin: 60px auto; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 20px; }
#login label { display: block; margin-bottom: 6px; font-weight: 600; }
#login .row { display: flex; gap: 8px; }
.error { color: var(--bad); min-height: 1.4em; margin: 8px 0 0; }
.note { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
#flow { width: 100%; max-width: 900px; height: auto; display: block; margin: 0 auto; }
#flow .node rect { fill: #eef3f9; stroke: #5a7390; stroke-width: 1.5; }
#flow .node.gateway rect { fill: #1f5fa8; stroke: #17466f; }
#flow .node.gateway text { fill: #fff; }
#flow .node text { font-size: 13px; fill: var(--ink); }
#flow .node text.sub { font-size: 11px; fill: var(--muted); }
#flow .node.gateway text.sub { fill: #d6e4f5; }
#flow .edge line { stroke: #5a7390; stroke-width: 2; transition: stroke-width .3s; }
#flow .edge text { font-size: 12px; fill: var(--ink); }
#flow text.unknown { font-size: 12px; fill: var(--bad); }
#flow .edge.fault line { stroke: var(--bad); }
#flow .edge.fault text { fill: var(--bad); font-weight: 600; }
#flow .edge.pulse line { stroke-width: 5; }
#flow .edge.idle line { stroke-dasharray: 4 4; }
tr.fresh { animation: fresh 1.5s ease-out; }
@keyframes fresh { from { background: #fff4c2; } to { background: transparent; } }
@media (prefers-reduced-motion: reduce) { tr.fresh { animation: none; } #flow .edge line { transition: none; } }
.badge { display: inline-block; border-radius: 3px; padding: 0 6px; font-size: 12px; border: 1px solid currentColor; }
form.search { display: flex; gap: 8px; flex-wrap: wrap; align-items: flex-end; }
form.search label { display: flex; flex-direction: column; gap: 4px; font-weight: 600; }
ol.trail { list-style: none; padding: 0; margin: 10px 0 0; border-left: 3px solid var(--line); }
ol.trail li { position: relative; padding: 4px 0 8px 16px; }
ol.trail li::before { content: ""; position: absolute; left: -8px; top: 9px; width: 11px; height: 11px; border-radius: 50%; background: var(--accent); }
ol.trail li.failed::before { background: var(--bad); }
ol.trail .when { font-variant-numeric: tabular-nums; color: var(--muted); margin-right: 8px; }
ol.trail .what { font-weight: 600; margin-right: 6px; }
.summary { margin: 8px 0 0; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.linklike { background: none; border: none; color: var(--accent); padding: 0; text-decoration: underline; }
</style>
</head>
<body>
<header>
  <h1>Okno — оперативная панель <span class="en" lang="en">/ Operations dashboard</span></h1>
  <span class="spacer"></span>
  <span id="live" class="live" role="status" aria-live="polite"><span class="dot" aria-hidden="true"></span><span id="live-text">нет связи <span lang="en">/ offline</span></span></span>
  <span id="heartbeat" class="muted"></span>
  <button id="signout" class="secondary" type="button" hidden>Выйти <span lang="en">/ Sign out</span></button>
</header>

<form id="login" aria-labelledby="login-title" novalidate>
  <h2 id="login-title">Вход <span class="en" lang="en">/ Sign in</span></h2>
  <label for="token">Токен оператора <span class="en" lang="en">/ Ops token</span></label>
  <div class="row">
    <input id="token" name="token" type="password" autocomplete="off" required aria-describedby="login-note login-error">
    <button type="submit">Войти <span lang="en">/ Sign in</span></button>
  </div>
  <p id="login-error" class="error" role="alert"></p>
  <p id="login-note" class="note">Токен роли ops хранится только в этой вкладке (sessionStorage). <span lang="en">The ops-role token is kept in this tab only.</span></p>
</form>

<main id="board" hidden>
  <section class="panel wide" aria-labelledby="flow-title">
    <h2 id="flow-title">Поток сообщений <span class="en" lang="en">/ Message flow</span> <span class="muted">(5 мин / 5 min)</span></h2>
    <svg id="flow" role="img" aria-labelledby="flow-svg-title flow-svg-desc" viewBox="0 0 900 330" xmlns="http://www.w3.org/2000/svg">
      <title id="flow-svg-title">Портал → шлюз → город, шлюз ↔ ведомства / Portal → gateway → city, gateway ↔ agencies</title>
      <desc id="flow-svg-desc">Число сообщений по каждому направлению за 5 минут; красным — ошибки за последнюю минуту. Messages per direction in 5 minutes; red: errors in the last minute.</desc>
    </svg>
  </section>

  <section class="panel" aria-labelledby="rates-title">
    <h2 id="rates-title">Партнёры: поток и ошибки <span class="en" lang="en">/ Partners: throughput and errors</span></h2>
    <table>
      <caption class="visually-hidden">Сообщений за 1 и 5 минут / Messages in 1 and 5 minutes</caption>
      <thead><tr>
        <th scope="col">Партнёр <span lang="en">/ Partner</span></th>
        <th scope="col" class="num">Вход. 1 мин · 5 мин <span lang="en">/ In</span></th>
        <th scope="col" class="num">Исх. 1 мин · 5 мин <span lang="en">/ Out</span></th>
        <th scope="col" class="num">Ошибки 1 мин · 5 мин <span lang="en">/ Errors</span></th>
      </tr></thead>
      <tbody id="rates-body"></tbody>
    </table>
    <p class="summary" aria-live="polite">Всего за 5 мин <span lang="en">/ Total in 5 min</span>: <strong id="total-5m">0</strong>, ошибок <span lang="en">/ errors</span>: <strong id="errors-5m">0</strong></p>
  </section>

  <section class="panel" aria-labelledby="queues-title">
    <h2 id="queues-title">Очереди <span class="en" lang="en">/ Queues</span></h2>
    <table>
      <thead><tr>
        <th scope="col">Очередь <span lang="en">/ Queue</span></th>
        <th scope="col" class="num">Ждут <span lang="en">/ Waiting</span></th>
        <th scope="col" class="num">В очереди <span lang="en">/ Pending</span></th>
        <th scope="col" class="num">В работе <span lang="en">/ In flight</span></th>
        <th scope="col" class="num">Мёртвые <span lang="en">/ Dead</span></th>
        <th scope="col" class="num">Старейшая <span lang="en">/ Oldest open</span></th>
      </tr></thead>
      <tbody id="queues-body"></tbody>
    </table>
    <p id="queues-at" class="note"></p>
  </section>

  <section class="panel wide" aria-labelledby="dead-title">
    <h2 id="dead-title">Застрявшие и недоставленные статусы <span class="en" lang="en">/ Stuck and dead status deliveries</span></h2>
    <table>
      <thead><tr>
        <th scope="col">Рег. номер <span lang="en">/ Reg. number</span></th>
        <th scope="col">Статус <span lang="en">/ Status</span></th>
        <th scope="col">Состояние <span lang="en">/ State</span></th>
        <th scope="col" class="num">Попытки <span lang="en">/ Attempts</span></th>
        <th scope="col">Ошибка <span lang="en">/ Last error</span></th>
        <th scope="col">Создано <span lang="en">/ Created</span></th>
        <th scope="col"><span class="visually-hidden">Действие / Action</span></th>
      </tr></thead>
      <tbody id="dead-body"></tbody>
    </table>
    <p id="dead-error" class="error" role="alert"></p>
  </section>

  <section class="panel wide" aria-labelledby="search-title">
    <h2 id="search-title">Поиск и след заявления <span class="en" lang="en">/ Search and application trail</span></h2>
    <form id="search" class="search" role="search">
      <label for="q">ID сообщения или рег. номер <span class="en" lang="en">/ Message id or registration number</span>
        <input id="q" name="q" type="text" maxlength="200" autocomplete="off" spellcheck="false" placeholder="РК-2026-000001">
      </label>
      <button type="submit">Найти <span lang="en">/ Find</span></button>
    </form>
    <div id="search-result" aria-live="polite"></div>
    <div id="trail"></div>
  </section>

  <section class="panel wide" aria-labelledby="events-title">
    <h2 id="events-title">Последние события <span class="en" lang="en">/ Latest events</span> <span class="muted" id="events-count"></span></h2>
    <table>
      <thead><tr>
        <th scope="col">Время <span lang="en">/ Time</span></th>
        <th scope="col">Напр. <span lang="en">/ Dir.</span></th>
        <th scope="col">Партнёр <span lang="en">/ Partner</span></th>
        <th scope="col">Операция <span lang="en">/ Operation</span></th>
        <th scope="col">Услуга <span lang="en">/ Service</span></th>
        <th scope="col">Итог <span lang="en">/ Outcome</span></th>
        <th scope="col">Рег. номер <span lang="en">/ Reg. number</span></th>
        <th scope="col">ID сообщения <span lang="en">/ Message id</span></th>
        <th scope="col" class="num">мс <span lang="en">/ ms</span></th>
      </tr></thead>
      <tbody id="events-body"></tbody>
    </table>
    <p id="dropped" class="note"></p>
  </section>
</main>

<script>
(function () {
  'use strict';
  var TOKEN_KEY = 'okno.opsToken';
  var SVG = 'http://www.w3.org/2000/svg';
  var MAX_EVENTS = 50;
  var OUTCOMES = {
    accepted: 'принято / accepted', duplicate: 'повтор / duplicate', fault: 'отказ / fault',
    delivered: 'доставлено / delivered', retry: 'повтор попытки / retry', refused: 'отклонено / refused'
  };
  var KINDS = {
    received: 'получено / received', acknowledged: 'забрано городом / taken by the city',
    status: 'статус / status', query: 'запрос / query', answer: 'ответ / answer'
  };
  var STATES = { pending: 'в очереди / pending', delivered: 'доставлено / delivered', failed: 'не доставлено / failed' };

  var st = {
    token: sessionStorage.getItem(TOKEN_KEY),
    partners: [], queues: [], buckets: new Map(), bucketMs: 10000, windowMs: 300000,
    offset: 0, events: [], abort: null, retryMs: 1000, lastData: 0, total: 0,
    trailId: null, trailTimer: null, timers: [], queueStats: {}, pulses: {}, renderQueued: false
  };

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function sv(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'on') Object.keys(v).forEach(function (e) { node.addEventListener(e, v[e]); });
      else node.setAttribute(k, String(v));
    });
  }
  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function hms(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '—';
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function dayTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '—';
    return pad(d.getDate()) + '.' + pad(d.getMonth() + 1) + ' ' + hms(iso);
  }
  function timeEl(iso, long) { return el('time', { datetime: iso, title: iso, text: long ? dayTime(iso) : hms(iso) }); }
  function age(ms) {
    if (ms === null || ms === undefined) return '—';
    var s = Math.round(ms / 1000);
    if (s < 60) return s + ' с/s';
    if (s < 3600) return Math.floor(s / 60) + ' мин/min';
    return Math.floor(s / 3600) + ' ч/h ' + Math.floor((s % 3600) / 60) + ' мин/min';
  }
  function now() { return Date.now() + st.offset; }
  function isError(e) { return e.outcome === 'fault' || e.outcome === 'refused' || e.outcome === 'retry'; }
  function partnerName(id) {
    if (id === null || id === undefined) return 'неизвестный отправитель / unknown sender';
    for (var i = 0; i < st.partners.length; i++) if (st.partners[i].id === id) return st.partners[i].id;
    return id;
  }

  // ---- API -----------------------------------------------------------------
  function headers(extra) {
    var h = { authorization: 'Bearer ' + st.token, accept: 'application/json' };
    if (extra) Object.keys(extra).forEach(function (k) { h[k] = extra[k]; });
    return h;
  }
  function api(path, options) {
    options = options || {};
    return fetch(path, { method: options.method || 'GET', headers: headers(options.headers), body: options.body, cache: 'no-store' })
      .then(function (res) {
        if (res.status === 401) { signOut('Токен не принят / The token was refused'); throw new Error('unauthorized'); }
        return res.json().catch(function () { return null; }).then(function (body) {
          if (!res.ok) {
            var msg = body && body.error ? body.error.code + ': ' + body.error.message : 'HTTP ' + res.status;
            throw new Error(msg);
          }
          return body;
        });
      });
  }

  // ---- sign in / out --------------------------------------------------------
  function showBoard(on) {
    $('login').hidden = on;
    $('board').hidden = !on;
    $('signout').hidden = !on;
  }
  function signIn(token) {
    st.token = token;
    return api('/api/v1/ops/queues').then(function (q) {
      sessionStorage.setItem(TOKEN_KEY, token);
      $('login-error').textContent = '';
      showBoard(true);
      renderQueues(q);
      start();
    }, function (err) {
      if (err && err.message !== 'unauthorized') $('login-error').textContent = 'Ошибка / Error: ' + err.message;
    });
  }
  function signOut(message) {
    stop();
    st.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showBoard(false);
    setLive('off');
    $('login-error').textContent = message || '';
    $('token').value = '';
    $('token').focus();
  }
  function start() {
    stop();
    stream();
    st.timers.push(setInterval(refreshQueues, 3000));
    st.timers.push(setInterval(refreshDeliveries, 3000));
    st.timers.push(setInterval(function () { scheduleRender(); }, 2000));
    st.timers.push(setInterval(watchdog, 5000));
    refreshDeliveries();
  }
  function stop() {
    st.timers.forEach(clearInterval);
    st.timers = [];
    if (st.abort) st.abort.abort();
    st.abort = null;
    if (st.trailTimer) clearTimeout(st.trailTimer);
  }

  // ---- the event stream (fetch + ReadableStream: EventSource cannot send a token) ----
  function setLive(mode) {
    var live = $('live');
    live.className = 'live ' + mode;
    clear($('live-text'));
    append($('live-text'), mode === 'on' ? ['в эфире ', el('span', { lang: 'en', text: '/ live' })] : mode === 'off' ? ['нет связи ', el('span', { lang: 'en', text: '/ offline' })] : ['подключение… ', el('span', { lang: 'en', text: '/ connecting…' })]);
  }
  function stream() {
    var ctrl = new AbortController();
    st.abort = ctrl;
    setLive('wait');
    fetch('/api/v1/ops/events', { headers: headers({ accept: 'text/event-stream' }), signal: ctrl.signal, cache: 'no-store' })
      .then(function (res) {
        if (res.status === 401) { signOut('Токен не принят / The token was refused'); return; }
        if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
        setLive('on');
        st.retryMs = 1000;
        st.lastData = Date.now();
        var reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        var buffer = '';
        function pump() {
          return reader.read().then(function (r) {
            if (r.done) return;
            st.lastData = Date.now();
            buffer += r.value;
            var i;
            while ((i = buffer.indexOf('\n\n')) >= 0) {
              var frame = buffer.slice(0, i);
              buffer = buffer.slice(i + 2);
              onFrame(frame);
            }
            return pump();
          });
        }
        return pump();
      })
      .catch(function () { /* reconnects below */ })
      .then(function () {
        if (ctrl.signal.aborted || st.abort !== ctrl || !st.token) return;
        setLive('off');
        setTimeout(function () { if (st.abort === ctrl && st.token) stream(); }, st.retryMs);
        st.retryMs = Math.min(st.retryMs * 2, 15000);
      });
  }
  function watchdog() {
    // No bytes for two heartbeats: the connection is dead without knowing it.
    if (st.abort && st.lastData && Date.now() - st.lastData > 35000) {
      var old = st.abort;
      st.abort = null;
      old.abort();
      stream();
    }
  }
  function onFrame(frame) {
    var type = 'message', data = [];
    frame.split('\n').forEach(function (line) {
      if (line === '' || line.charAt(0) === ':') return;
      var colon = line.indexOf(':');
      var field = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    });
    if (data.length === 0) return;
    var payload;
    try { payload = JSON.parse(data.join('\n')); } catch (e) { return; }
    if (type === 'snapshot') onSnapshot(payload);
    else if (type === 'message') onEvent(payload, true);
    else if (type === 'heartbeat') { st.offset = Date.parse(payload.at) - Date.now(); $('heartbeat').textContent = '♥ ' + hms(payload.at); }
    else if (type === 'dropped') $('dropped').textContent = 'Пропущено событий (медленное соединение) / Events dropped (slow connection): ' + payload.count;
  }
  function onSnapshot(s) {
    st.offset = Date.parse(s.at) - Date.now();
    st.partners = s.partners || [];
    st.bucketMs = s.bucketMs;
    st.windowMs = s.windowMs;
    st.buckets = new Map();
    (s.buckets || []).forEach(function (b) { st.buckets.set(b.t + '|' + b.direction + '|' + (b.partner || ''), b); });
    st.events = [];
    clear($('events-body'));
    (s.events || []).forEach(function (e) { onEvent(e, false); });
    buildFlow();
    scheduleRender();
  }
  function onEvent(e, live) {
    if (live) {
      var at = Date.parse(e.at);
      var t = Math.floor((isNaN(at) ? now() : at) / st.bucketMs) * st.bucketMs;
      var key = t + '|' + e.direction + '|' + (e.partner || '');
      var b = st.buckets.get(key);
      if (!b) { b = { t: t, partner: e.partner, direction: e.direction, total: 0, errors: 0 }; st.buckets.set(key, b); }
      b.total += 1;
      if (isError(e)) b.errors += 1;
      pulse(edgeFor(e));
      if (e.direction === 'inbound' && e.outcome === 'accepted') pulse('city');
      if (st.trailId && e.applicationId === st.trailId) reloadTrailSoon();
      if (e.direction === 'outbound' && e.operation === 'SendRequest') refreshDeliveriesSoon();
      refreshQueuesSoon();
    }
    st.total += 1;
    st.events.unshift(e);
    var body = $('events-body');
    body.insertBefore(eventRow(e, live), body.firstChild);
    while (st.events.length > MAX_EVENTS) { st.events.pop(); body.removeChild(body.lastChild); }
    $('events-count').textContent = '(' + st.total + ')';
    scheduleRender();
  }
  function eventRow(e, live) {
    var bad = isError(e);
    return el('tr', { class: live ? 'fresh' : null, 'data-message-id': e.messageId || '' },
      el('td', null, timeEl(e.at)),
      el('td', { text: e.direction === 'inbound' ? '→ вход / in' : '← исх. / out' }),
      el('td', { text: partnerName(e.partner) }),
      el('td', { text: e.operation }),
      el('td', { text: e.service || '—' }),
      el('td', { class: bad ? 'bad' : 'good' }, OUTCOMES[e.outcome] || e.outcome, e.faultCode ? el('div', { class: 'mono', text: e.faultCode + (e.signatureReason ? ' (' + e.signatureReason + ')' : '') }) : null),
      el('td', null, e.registrationNumber ? el('button', { type: 'button', class: 'linklike', text: e.registrationNumber, on: { click: function () { runSearch(e.registrationNumber); } } }) : '—'),
      el('td', null, e.messageId ? el('button', { type: 'button', class: 'linklike mono', text: e.messageId, on: { click: function () { runSearch(e.messageId); } } }) : '—'),
      el('td', { class: 'num', text: Math.round(e.durationMs) }));
  }

  // ---- counts ---------------------------------------------------------------
  function count(filter, windowMs) {
    var from = now() - windowMs, total = 0, errors = 0;
    st.buckets.forEach(function (b, key) {
      if (b.t + st.bucketMs <= now() - st.windowMs - st.bucketMs) { st.buckets.delete(key); return; }
      if (b.t + st.bucketMs <= from || !filter(b)) return;
      total += b.total;
      errors += b.errors;
    });
    return { total: total, errors: errors };
  }
  function scheduleRender() {
    if (st.renderQueued) return;
    st.renderQueued = true;
    requestAnimationFrame(function () { st.renderQueued = false; renderRates(); renderFlow(); });
  }
  function renderRates() {
    var ids = st.partners.map(function (p) { return p.id; });
    var unknown = false;
    st.buckets.forEach(function (b) { if (b.partner === null) unknown = true; else if (ids.indexOf(b.partner) < 0) ids.push(b.partner); });
    if (unknown) ids.push(null);
    var body = $('rates-body');
    clear(body);
    ids.forEach(function (id) {
      var of = function (dir) { return function (b) { return b.partner === id && (!dir || b.direction === dir); }; };
      var in1 = count(of('inbound'), 60000), in5 = count(of('inbound'), 300000);
      var out1 = count(of('outbound'), 60000), out5 = count(of('outbound'), 300000);
      var all1 = count(of(null), 60000), all5 = count(of(null), 300000);
      var p = st.partners.filter(function (x) { return x.id === id; })[0];
      body.appendChild(el('tr', { 'data-partner': id === null ? '' : id },
        el('th', { scope: 'row' }, partnerName(id), p ? el('div', { class: 'muted', text: p.name }) : null),
        el('td', { class: 'num', text: in1.total + ' · ' + in5.total }),
        el('td', { class: 'num', text: out1.total + ' · ' + out5.total }),
        el('td', { class: 'num' + (all1.errors > 0 ? ' bad' : all5.errors > 0 ? ' warn' : ''), text: all1.errors + ' · ' + all5.errors })));
    });
    var all = count(function () { return true; }, 300000);
    $('total-5m').textContent = String(all.total);
    $('errors-5m').textContent = String(all.errors);
    $('errors-5m').className = all.errors > 0 ? 'bad' : '';
  }

  // ---- the flow picture -------------------------------------------------------
  var flow = { edges: {} };
  function edgeFor(e) { return e.partner === null ? 'unknown' : (e.direction === 'inbound' ? 'in:' : 'out:') + e.partner; }
  function marker(id, color) {
    return sv('marker', { id: id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      sv('path', { d: 'M0,0 L10,5 L0,10 z', fill: color }));
  }
  function node(x, y, w, h, title, sub, cls, id) {
    return sv('g', { class: 'node ' + (cls || ''), 'data-node': id },
      sv('rect', { x: x, y: y, width: w, height: h, rx: 8 }),
      sv('text', { x: x + w / 2, y: y + h / 2 - 3, 'text-anchor': 'middle', text: title }),
      sv('text', { x: x + w / 2, y: y + h / 2 + 14, 'text-anchor': 'middle', class: 'sub', text: sub }));
  }
  function edge(id, x1, y1, x2, y2, lx, ly, anchor) {
    var label = sv('text', { x: lx, y: ly, 'text-anchor': anchor || 'middle', text: '0' });
    var line = sv('line', { x1: x1, y1: y1, x2: x2, y2: y2, 'marker-end': 'url(#arrow)' });
    var g = sv('g', { class: 'edge idle', 'data-edge': id }, line, label);
    flow.edges[id] = { g: g, line: line, label: label };
    return g;
  }
  function buildFlow() {
    var svg = $('flow');
    Array.prototype.slice.call(svg.childNodes).forEach(function (c) { if (c.nodeName !== 'title' && c.nodeName !== 'desc') svg.removeChild(c); });
    flow.edges = {};
    var portals = st.partners.filter(function (p) { return p.role === 'portal'; });
    var agencies = st.partners.filter(function (p) { return p.role !== 'portal'; });
    var rows = Math.max(1, portals.length);
    var height = Math.max(330, 60 + rows * 110 + 170);
    svg.setAttribute('viewBox', '0 0 900 ' + height);
    svg.appendChild(sv('defs', null, marker('arrow', '#5a7390'), marker('arrow-fault', '#b3261e')));
    var gx = 340, gy = 40, gw = 200, gh = Math.max(90, rows * 110 - 20);
    svg.appendChild(node(gx, gy, gw, gh, 'Okno', 'шлюз / gateway', 'gateway', 'gateway'));
    portals.forEach(function (p, i) {
      var y = gy + i * 110;
      svg.appendChild(node(20, y, 170, 90, p.id, 'портал / portal', 'portal', p.id));
      svg.appendChild(edge('in:' + p.id, 190, y + 30, gx, y + 30, 265, y + 22));
      svg.appendChild(edge('out:' + p.id, gx, y + 62, 190, y + 62, 265, y + 80));
    });
    svg.appendChild(node(710, gy + gh / 2 - 45, 170, 90, 'Город / City', 'СЭД / document system', 'city', 'city'));
    svg.appendChild(edge('city', gx + gw, gy + gh / 2, 710, gy + gh / 2, 625, gy + gh / 2 - 8));
    var ay = gy + gh + 110, n = Math.max(1, agencies.length), slot = 860 / n;
    agencies.forEach(function (p, i) {
      var cx = 20 + slot * i + slot / 2, w = Math.min(200, slot - 20);
      var fromX = gx + gw / 2 + (i - (n - 1) / 2) * Math.min(60, gw / n);
      svg.appendChild(node(cx - w / 2, ay, w, 70, p.id, 'ведомство / agency', 'agency', p.id));
      svg.appendChild(edge('out:' + p.id, fromX - 8, gy + gh, cx - 8, ay, (fromX + cx) / 2 - 14, (gy + gh + ay) / 2, 'end'));
      svg.appendChild(edge('in:' + p.id, cx + 8, ay, fromX + 8, gy + gh, (fromX + cx) / 2 + 14, (gy + gh + ay) / 2 + 14, 'start'));
    });
    flow.unknown = sv('text', { x: gx + gw / 2, y: gy - 12, 'text-anchor': 'middle', class: 'unknown', text: '' });
    svg.appendChild(flow.unknown);
    renderFlow();
  }
  function setEdge(id, c5, c1, extraFault) {
    var e = flow.edges[id];
    if (!e) return;
    var fault = c1.errors > 0 || !!extraFault;
    e.g.setAttribute('class', 'edge' + (fault ? ' fault' : '') + (c5.total === 0 ? ' idle' : '') + (st.pulses[id] ? ' pulse' : ''));
    e.line.setAttribute('marker-end', fault ? 'url(#arrow-fault)' : 'url(#arrow)');
    e.label.textContent = c5.total + (c5.errors > 0 ? ' (ош./err ' + c5.errors + ')' : '');
  }
  function renderFlow() {
    st.partners.forEach(function (p) {
      ['inbound', 'outbound'].forEach(function (dir) {
        var f = function (b) { return b.partner === p.id && b.direction === dir; };
        setEdge((dir === 'inbound' ? 'in:' : 'out:') + p.id, count(f, 300000), count(f, 60000));
      });
    });
    var toCity = count(function (b) { return b.direction === 'inbound' && b.partner !== null; }, 300000);
    var webhook = st.queueStats['city-webhook'];
    var cityEdge = { total: toCity.total - toCity.errors, errors: 0 };
    setEdge('city', cityEdge, { total: 0, errors: 0 }, webhook && webhook.dead > 0);
    var unknown = count(function (b) { return b.partner === null; }, 300000);
    if (flow.unknown) flow.unknown.textContent = unknown.total > 0 ? 'отклонено от неизвестных / refused from unknown: ' + unknown.total : '';
  }
  function pulse(id) {
    st.pulses[id] = (st.pulses[id] || 0) + 1;
    setTimeout(function () { st.pulses[id] -= 1; if (st.pulses[id] <= 0) delete st.pulses[id]; scheduleRender(); }, 700);
  }

  // ---- queues and deliveries ---------------------------------------------------
  function refreshQueues() { api('/api/v1/ops/queues').then(renderQueues, function () {}); }
  var queuesTimer = null;
  function refreshQueuesSoon() {
    if (queuesTimer) return;
    queuesTimer = setTimeout(function () { queuesTimer = null; refreshQueues(); }, 500);
  }
  function renderQueues(q) {
    var body = $('queues-body');
    clear(body);
    q.queues.forEach(function (s) {
      st.queueStats[s.name] = s;
      body.appendChild(el('tr', { 'data-queue': s.name },
        el('th', { scope: 'row', class: 'mono', text: s.name }),
        el('td', { class: 'num', text: s.waiting }),
        el('td', { class: 'num', text: s.pending + (s.due !== s.pending ? ' (' + s.due + ')' : '') }),
        el('td', { class: 'num', text: s.inflight }),
        el('td', { class: 'num' + (s.dead > 0 ? ' bad' : ''), text: s.dead }),
        el('td', { class: 'num', text: age(s.oldestOpenAgeMs) })));
    });
    $('queues-at').textContent = 'Обновлено / Updated ' + hms(q.at) + '. «В очереди» в скобках — готовых сейчас / pending (due now).';
    scheduleRender();
  }
  var deliveriesTimer = null;
  function refreshDeliveriesSoon() {
    if (deliveriesTimer) return;
    deliveriesTimer = setTimeout(function () { deliveriesTimer = null; refreshDeliveries(); }, 300);
  }
  function refreshDeliveries() {
    Promise.all([api('/api/v1/ops/deliveries?state=dead&limit=100'), api('/api/v1/ops/deliveries?state=pending&limit=100')])
      .then(function (r) {
        var stuck = r[1].items.filter(function (d) { return d.attempts > 0; });
        renderDeliveries(r[0].items, stuck);
      }, function () {});
  }
  function renderDeliveries(dead, stuck) {
    var body = $('dead-body');
    clear(body);
    if (dead.length === 0 && stuck.length === 0) {
      body.appendChild(el('tr', null, el('td', { colspan: 7, class: 'empty', text: 'Нет застрявших сообщений / Nothing stuck' })));
      return;
    }
    dead.concat(stuck).forEach(function (d) {
      var isDead = d.state === 'failed';
      body.appendChild(el('tr', { 'data-delivery': d.id },
        el('td', null, el('button', { type: 'button', class: 'linklike', text: d.registrationNumber, on: { click: function () { runSearch(d.registrationNumber); } } })),
        el('td', { text: d.code }),
        el('td', { class: isDead ? 'bad' : 'warn', text: isDead ? 'мёртвое / dead' : 'повторяется / retrying' }),
        el('td', { class: 'num', text: d.attempts }),
        el('td', { class: 'mono', text: d.lastError || '—' }),
        el('td', null, timeEl(d.createdAt, true)),
        el('td', null, isDead ? el('button', { type: 'button', 'data-replay': d.id, 'aria-label': 'Повторить доставку / Replay delivery ' + d.registrationNumber + ' ' + d.code, text: 'Повторить / Replay', on: { click: function (ev) { replay(d, ev.currentTarget); } } }) : null)));
    });
  }
  function replay(d, button) {
    button.disabled = true;
    $('dead-error').textContent = '';
    api('/api/v1/ops/deliveries/' + encodeURIComponent(d.id) + '/replay', { method: 'POST' })
      .then(function () { refreshDeliveries(); refreshQueues(); if (st.trailId === d.applicationId) reloadTrailSoon(); },
        function (err) { button.disabled = false; $('dead-error').textContent = 'Не удалось / Failed: ' + err.message; });
  }

  // ---- search and trail ----------------------------------------------------------
  function runSearch(q) {
    $('q').value = q;
    search(q);
  }
  function search(q) {
    q = q.trim();
    var out = $('search-result');
    clear(out);
    if (!q) return;
    append(out, el('p', { class: 'muted', text: 'Ищу… / Searching…' }));
    api('/api/v1/ops/search?q=' + encodeURIComponent(q)).then(function (r) {
      clear(out);
      if (r.applicationId) { showTrail(r.applicationId); return; }
      st.trailId = null;
      clear($('trail'));
      if (r.matches.length === 0) { append(out, el('p', { class: 'empty', text: 'Ничего не найдено / Nothing found: ' + q })); return; }
      append(out, el('ul', null, r.matches.map(function (m) {
        return el('li', null, m.kind + ' ', el('code', { text: m.id }), m.partner ? ' · ' + m.partner : '', m.at ? [' · ', timeEl(m.at, true)] : '', ' — без заявления / no application');
      })));
    }, function (err) { clear(out); append(out, el('p', { class: 'error', text: 'Ошибка / Error: ' + err.message })); });
  }
  function reloadTrailSoon() {
    if (st.trailTimer) clearTimeout(st.trailTimer);
    st.trailTimer = setTimeout(function () { if (st.trailId) showTrail(st.trailId); }, 250);
  }
  function showTrail(id) {
    st.trailId = id;
    return api('/api/v1/ops/applications/' + encodeURIComponent(id) + '/trail').then(renderTrail, function (err) {
      clear($('trail'));
      append($('trail'), el('p', { class: 'error', text: 'Ошибка / Error: ' + err.message }));
    });
  }
  function deliveryText(d) {
    var parts = [el('span', { class: 'badge ' + (d.state === 'delivered' ? 'good' : d.state === 'failed' ? 'bad' : 'warn'), text: STATES[d.state] || d.state })];
    if (d.deliveredAt) parts.push(' ', timeEl(d.deliveredAt));
    parts.push(' · попыток / attempts: ' + d.attempts);
    if (d.ackedAt) parts.push(' · Ack ', timeEl(d.ackedAt));
    if (d.lastError && d.state !== 'delivered') parts.push(el('div', { class: 'mono bad', text: d.lastError }));
    return parts;
  }
  function renderTrail(t) {
    var box = $('trail');
    clear(box);
    var a = t.application;
    append(box, el('h3', { id: 'trail-title' }, 'Заявление / Application ', el('span', { class: 'mono', text: a.registrationNumber })),
      el('p', { class: 'muted' }, a.serviceTitle + ' · ' + a.partner + ' · текущий статус / current status: ', el('strong', { text: a.status }), ' · id ', el('code', { text: a.id })));
    append(box, el('ol', { class: 'trail', 'aria-labelledby': 'trail-title', 'data-application': a.id }, t.entries.map(function (e) {
      var failed = e.delivery && e.delivery.state === 'failed';
      return el('li', { class: failed ? 'failed' : null, 'data-kind': e.kind },
        el('span', { class: 'when' }, timeEl(e.at, true)),
        el('span', { class: 'what', text: KINDS[e.kind] || e.kind }),
        el('span', { text: e.title }),
        e.partner ? el('span', { class: 'muted', text: ' · ' + e.partner }) : null,
        e.state ? el('span', { class: 'muted', text: ' · ' + e.state }) : null,
        e.messageId ? el('div', { class: 'mono muted', text: 'MessageID ' + e.messageId }) : null,
        e.delivery ? el('div', null, deliveryText(e.delivery)) : null);
    })));
  }

  // ---- wiring -----------------------------------------------------------------
  $('login').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var token = $('token').value.trim();
    if (!token) { $('login-error').textContent = 'Введите токен / Enter the token'; return; }
    signIn(token);
  });
  $('signout').addEventListener('click', function () { signOut(''); });
  $('search').addEventListener('submit', function (ev) { ev.preventDefault(); search($('q').value); });
  if (st.token) signIn(st.token); else { showBoard(false); $('token').focus(); }
})();
</script>
</body>
</html>
`;
