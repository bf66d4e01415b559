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
button.danger { background: var(--bad); border-color: var(--bad); }
.actions { display: flex; gap: 6px; }
form.filters { display: flex; gap: 10px; flex-wrap: wrap; align-items: flex-end; margin-bottom: 8px; }
form.filters label { display: flex; flex-direction: column; gap: 2px; font-size: 12px; font-weight: 600; color: var(--muted); }
select { font: inherit; border: 1px solid #8a96a3; border-radius: 4px; padding: 4px 6px; background: #fff; }
dialog { border: 1px solid var(--line); border-radius: 6px; padding: 16px 18px; max-width: 520px; }
dialog::backdrop { background: rgba(23, 32, 43, .45); }
dialog .actions { justify-content: flex-end; margin-top: 14px; }
ul.attempts { list-style: none; margin: 4px 0 0; padding: 0; }
ul.attempts li { padding: 1px 0; }
.history { margin-top: 2px; }
dl.proof { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0; }
dl.proof dt { color: var(--muted); font-weight: 600; }
dl.proof dd { margin: 0; }
.envelope { border-top: 1px solid #e3e8ee; padding-top: 8px; margin-top: 8px; }
table.charts td { vertical-align: middle; }
svg.chart { width: 260px; height: 56px; display: block; }
svg.chart .area { fill: #cfe0f3; stroke: #1f5fa8; stroke-width: 1; }
svg.chart .err { fill: #f3c9c6; stroke: #b3261e; stroke-width: 1; }
svg.chart .lat { fill: none; stroke: #8a5a00; stroke-width: 1.5; }
svg.chart .axis { stroke: #c9d2dc; stroke-width: 1; }
svg.chart text { font-size: 10px; fill: var(--muted); }
#flow .node.exchange rect { fill: #f5f0e6; stroke: #8a5a00; }
#flow .node.xroad rect { fill: #eef5ee; stroke: #2e6b3a; }
#flow text.sub { font-size: 11px; fill: var(--muted); }
#flow text.bad-text { font-size: 11px; fill: var(--bad); font-weight: 600; }
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

  <section class="panel wide" aria-labelledby="charts-title">
    <h2 id="charts-title">За 24 часа <span class="en" lang="en">/ Last 24 hours</span> <span class="muted" id="charts-note"></span></h2>
    <table class="charts">
      <thead><tr>
        <th scope="col">Партнёр <span lang="en">/ Partner</span></th>
        <th scope="col">Сообщения <span lang="en">/ Messages</span></th>
        <th scope="col">Ошибки <span lang="en">/ Errors</span></th>
        <th scope="col">p95, мс <span lang="en">/ p95 latency, ms</span></th>
      </tr></thead>
      <tbody id="charts-body"></tbody>
    </table>
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

  <section class="panel wide" aria-labelledby="xdead-title" id="xdead-panel" hidden>
    <h2 id="xdead-title">Сообщения биржи, которые шлюз не смог обработать <span class="en" lang="en">/ Dead exchange messages</span></h2>
    <p class="note">Пока оператор не решит, биржа доставляет их снова, а шлюз их не обрабатывает. <span lang="en">Until ops decide, the exchange keeps delivering them and the gateway does not process them.</span></p>
    <table>
      <thead><tr>
        <th scope="col">Биржа <span lang="en">/ Exchange</span></th>
        <th scope="col">MessageID</th>
        <th scope="col">Причина <span lang="en">/ Reason</span></th>
        <th scope="col" class="num">Попытки <span lang="en">/ Tries</span></th>
        <th scope="col">Мёртвое с <span lang="en">/ Dead since</span></th>
        <th scope="col"><span class="visually-hidden">Журнал / Journal</span></th>
        <th scope="col"><span class="visually-hidden">Действие / Action</span></th>
      </tr></thead>
      <tbody id="xdead-body"></tbody>
    </table>
    <p id="xdead-error" class="error" role="alert"></p>
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

  <section class="panel wide" aria-labelledby="proof-title" id="proof-panel" hidden>
    <h2 id="proof-title" tabindex="-1">Запись журнала и доказательства <span class="en" lang="en">/ Journal record and evidence</span></h2>
    <div id="proof" aria-live="polite"></div>
  </section>

  <section class="panel wide" aria-labelledby="events-title">
    <h2 id="events-title">Последние события <span class="en" lang="en">/ Latest events</span> <span class="muted" id="events-count"></span></h2>
    <form id="filters" class="filters" aria-label="Фильтр событий / Event filter">
      <label for="f-partner">Партнёр <span lang="en">/ Partner</span><select id="f-partner"><option value="">все / all</option></select></label>
      <label for="f-service">Услуга <span lang="en">/ Service</span><select id="f-service"><option value="">все / all</option></select></label>
      <label for="f-direction">Направление <span lang="en">/ Direction</span><select id="f-direction"><option value="">все / all</option><option value="inbound">вход / in</option><option value="outbound">исх. / out</option></select></label>
      <label for="f-outcome">Итог <span lang="en">/ Outcome</span><select id="f-outcome"><option value="">все / all</option><option value="errors">ошибки / errors</option><option value="accepted">принято / accepted</option><option value="duplicate">повтор / duplicate</option><option value="fault">отказ / fault</option><option value="delivered">доставлено / delivered</option><option value="retry">повтор попытки / retry</option><option value="refused">отклонено / refused</option></select></label>
      <button type="reset" class="secondary">Сбросить <span lang="en">/ Clear</span></button>
      <span id="filter-count" class="muted" aria-live="polite"></span>
    </form>
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
        <th scope="col"><span class="visually-hidden">Журнал / Journal</span></th>
      </tr></thead>
      <tbody id="events-body"></tbody>
    </table>
    <p id="dropped" class="note"></p>
  </section>
</main>

<dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-text">
  <div>
    <h2 id="confirm-title">Отказаться от доставки? <span class="en" lang="en">/ Discard the delivery?</span></h2>
    <p id="confirm-text"></p>
    <div class="actions">
      <button type="button" class="secondary" id="confirm-cancel" autofocus>Отмена <span lang="en">/ Cancel</span></button>
      <button type="button" class="danger" id="confirm-ok">Отказаться <span lang="en">/ Discard</span></button>
    </div>
  </div>
</dialog>

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
  var STATES = { pending: 'в очереди / pending', delivered: 'доставлено / delivered', failed: 'не доставлено / failed', discarded: 'отказались / discarded' };
  var KEEP_EVENTS = 200;
  var VERDICTS = {
    valid: 'подпись верна / signature valid', invalid: 'ПОДПИСЬ НЕВЕРНА / signature INVALID',
    unsigned: 'без подписи / unsigned', unreadable: 'не читается как XML / unreadable',
    'security-server': 'подписано серверами безопасности / signed by the Security Servers'
  };

  var st = {
    token: sessionStorage.getItem(TOKEN_KEY),
    partners: [], queues: [], buckets: new Map(), bucketMs: 10000, windowMs: 300000,
    offset: 0, events: [], abort: null, retryMs: 1000, lastData: 0, total: 0,
    trailId: null, trailTimer: null, timers: [], queueStats: {}, pulses: {}, renderQueued: false,
    exchanges: [], polls: {}, filters: { partner: '', service: '', direction: '', outcome: '' }
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
  /** The line an event or bucket belongs to: its partner, the exchange (the gateway's own pull-mode traffic), or unknown. */
  function lineOf(x) { return x.partner !== null && x.partner !== undefined ? x.partner : x.exchange ? 'exchange:' + x.exchange : null; }
  function partnerName(id) {
    if (id === null || id === undefined || id === '(unknown)') return 'неизвестный отправитель / unknown sender';
    if (id.indexOf('exchange:') === 0) return 'биржа / exchange ' + id.slice(9) + ' (шлюз / gateway: Ack)';
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
    st.timers.push(setInterval(refreshDeadMessages, 3000));
    st.timers.push(setInterval(function () { scheduleRender(); }, 2000));
    st.timers.push(setInterval(watchdog, 5000));
    st.timers.push(setInterval(refreshCharts, 60000));
    refreshDeliveries();
    refreshCharts();
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
    st.exchanges = s.exchanges || [];
    fillPartnerFilter();
    st.bucketMs = s.bucketMs;
    st.windowMs = s.windowMs;
    st.buckets = new Map();
    (s.buckets || []).forEach(function (b) { st.buckets.set(b.t + '|' + b.direction + '|' + (b.partner || '') + '|' + (b.exchange || ''), b); });
    st.events = [];
    clear($('events-body'));
    (s.events || []).forEach(function (e) { onEvent(e, false); });
    buildFlow();
    scheduleRender();
    $('xdead-panel').hidden = st.exchanges.length === 0;
    refreshDeadMessages();
  }
  function onEvent(e, live) {
    if (live) {
      var at = Date.parse(e.at);
      var t = Math.floor((isNaN(at) ? now() : at) / st.bucketMs) * st.bucketMs;
      var ex = e.partner === null ? (e.exchange || null) : null;
      var key = t + '|' + e.direction + '|' + (e.partner || '') + '|' + (ex || '');
      var b = st.buckets.get(key);
      if (!b) { b = { t: t, partner: e.partner, exchange: ex, direction: e.direction, total: 0, errors: 0 }; st.buckets.set(key, b); }
      b.total += 1;
      if (isError(e)) b.errors += 1;
      pulse(edgeFor(e));
      if (e.direction === 'inbound' && e.outcome === 'accepted') pulse('city');
      if (st.trailId && e.applicationId === st.trailId) reloadTrailSoon();
      if (e.direction === 'outbound' && e.operation === 'SendRequest') refreshDeliveriesSoon();
      if (e.faultCode === 'DeadExchangeMessage') refreshDeadMessages();
      refreshQueuesSoon();
      refreshChartsSoon();
    }
    st.total += 1;
    st.events.unshift(e);
    if (st.events.length > KEEP_EVENTS) st.events.length = KEEP_EVENTS;
    addOption('f-partner', lineOf(e) || '(unknown)', partnerName(lineOf(e)));
    if (e.service) addOption('f-service', e.service, e.service);
    if (matches(e)) {
      var body = $('events-body');
      body.insertBefore(eventRow(e, live), body.firstChild);
      while (body.rows.length > MAX_EVENTS) body.removeChild(body.lastChild);
    }
    $('events-count').textContent = '(' + st.total + ')';
    filterCount();
    scheduleRender();
  }

  // ---- event filters ----------------------------------------------------------
  function addOption(selectId, value, label) {
    var select = $(selectId);
    for (var i = 0; i < select.options.length; i++) if (select.options[i].value === value) return;
    select.appendChild(el('option', { value: value, text: label }));
  }
  function fillPartnerFilter() {
    st.partners.forEach(function (p) { addOption('f-partner', p.id, p.id + ' — ' + p.name); });
    st.exchanges.forEach(function (x) { addOption('f-partner', 'exchange:' + x.id, partnerName('exchange:' + x.id)); });
  }
  function matches(e) {
    var f = st.filters;
    if (f.partner && (lineOf(e) || '(unknown)') !== f.partner) return false;
    if (f.service && e.service !== f.service) return false;
    if (f.direction && e.direction !== f.direction) return false;
    if (f.outcome === 'errors') return isError(e);
    if (f.outcome && e.outcome !== f.outcome) return false;
    return true;
  }
  function filtering() { var f = st.filters; return !!(f.partner || f.service || f.direction || f.outcome); }
  function filterCount() {
    $('filter-count').textContent = filtering() ? 'показано / shown ' + $('events-body').rows.length + ' из / of ' + st.events.length : '';
  }
  function renderEvents() {
    var body = $('events-body');
    clear(body);
    st.events.filter(matches).slice(0, MAX_EVENTS).forEach(function (e) { body.appendChild(eventRow(e, false)); });
    if (body.rows.length === 0 && filtering()) body.appendChild(el('tr', { class: 'no-match' }, el('td', { colspan: 10, class: 'empty', text: 'Нет событий по фильтру / No events match the filter' })));
    filterCount();
  }
  function readFilters() {
    st.filters = { partner: $('f-partner').value, service: $('f-service').value, direction: $('f-direction').value, outcome: $('f-outcome').value };
    renderEvents();
  }
  function eventRow(e, live) {
    var bad = isError(e);
    return el('tr', { class: live ? 'fresh' : null, 'data-message-id': e.messageId || '', 'data-partner': lineOf(e) || '(unknown)', 'data-service': e.service || '', 'data-direction': e.direction, 'data-outcome': e.outcome },
      el('td', null, timeEl(e.at)),
      el('td', { text: e.direction === 'inbound' ? '→ вход / in' : '← исх. / out' }),
      el('td', { text: partnerName(lineOf(e)) }),
      el('td', { text: e.operation }),
      el('td', { text: e.service || '—' }),
      el('td', { class: bad ? 'bad' : 'good' }, OUTCOMES[e.outcome] || e.outcome, e.faultCode ? el('div', { class: 'mono', text: e.faultCode + (e.signatureReason ? ' (' + e.signatureReason + ')' : '') }) : null),
      el('td', null, e.registrationNumber ? el('button', { type: 'button', class: 'linklike', text: e.registrationNumber, on: { click: function () { runSearch(e.registrationNumber); } } }) : '—'),
      el('td', null, e.messageId ? el('button', { type: 'button', class: 'linklike mono', text: e.messageId, on: { click: function () { runSearch(e.messageId); } } }) : '—'),
      el('td', { class: 'num', text: Math.round(e.durationMs) }),
      el('td', null, el('button', { type: 'button', class: 'linklike', 'data-journal-event': '', 'aria-label': 'Запись журнала / Journal record ' + e.operation + ' ' + hms(e.at), text: 'журнал / journal', on: { click: function () { openEventRecord(e); } } })));
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
    st.buckets.forEach(function (b) { var id = lineOf(b); if (id === null) unknown = true; else if (ids.indexOf(id) < 0) ids.push(id); });
    if (unknown) ids.push(null);
    var body = $('rates-body');
    clear(body);
    ids.forEach(function (id) {
      var of = function (dir) { return function (b) { return lineOf(b) === id && (!dir || b.direction === dir); }; };
      var in1 = count(of('inbound'), 60000), in5 = count(of('inbound'), 300000);
      var out1 = count(of('outbound'), 60000), out5 = count(of('outbound'), 300000);
      var all1 = count(of(null), 60000), all5 = count(of(null), 300000);
      var p = st.partners.filter(function (x) { return x.id === id; })[0];
      body.appendChild(el('tr', { 'data-partner': id === null ? '' : id },
        el('th', { scope: 'row' }, partnerName(id), p ? el('div', { class: 'muted', text: p.name }) : null, p && p.xroad ? el('div', { class: 'muted mono', 'data-xroad': p.xroad.subsystem, text: xroadLabel(p) + ' ' + p.xroad.subsystem }) : null),
        el('td', { class: 'num', text: in1.total + ' · ' + in5.total }),
        el('td', { class: 'num', text: out1.total + ' · ' + out5.total }),
        el('td', { class: 'num' + (all1.errors > 0 ? ' bad' : all5.errors > 0 ? ' warn' : ''), text: all1.errors + ' · ' + all5.errors })));
    });
    var all = count(function () { return true; }, 300000);
    $('total-5m').textContent = String(all.total);
    $('errors-5m').textContent = String(all.errors);
    $('errors-5m').className = all.errors > 0 ? 'bad' : '';
  }

  /** How an X-Road partner is reached: Trembita or X-Road, SOAP or REST. */
  function xroadLabel(p) { return (p.xroad.dialect === 'trembita' ? 'Трембіта / Trembita' : 'X-Road') + ' (' + p.xroad.protocol.toUpperCase() + ')'; }

  // ---- the flow picture -------------------------------------------------------
  var flow = { edges: {}, polls: {} };
  function edgeFor(e) { return e.partner === null ? (e.exchange ? 'x:' + e.exchange : 'unknown') : (e.direction === 'inbound' ? 'in:' : 'out:') + e.partner; }
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
    flow.polls = {};
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
      svg.appendChild(node(cx - w / 2, ay, w, 70, p.id, p.xroad ? xroadLabel(p) : 'ведомство / agency', p.xroad ? 'agency xroad' : 'agency', p.id));
      svg.appendChild(edge('out:' + p.id, fromX - 8, gy + gh, cx - 8, ay, (fromX + cx) / 2 - 14, (gy + gh + ay) / 2, 'end'));
      svg.appendChild(edge('in:' + p.id, cx + 8, ay, fromX + 8, gy + gh, (fromX + cx) / 2 + 14, (gy + gh + ay) / 2 + 14, 'start'));
    });
    st.exchanges.forEach(function (x, i) {
      var ey = gy + gh / 2 + 60 + i * 85;
      svg.appendChild(node(710, ey, 170, 70, x.id, 'биржа СМЭВ / exchange', 'exchange', 'exchange:' + x.id));
      flow.polls[x.id] = sv('text', { x: 795, y: ey + 84, 'text-anchor': 'middle', class: 'sub', 'data-exchange-polls': x.id, text: '' });
      svg.appendChild(flow.polls[x.id]);
      svg.appendChild(edge('x:' + x.id, gx + gw, gy + gh - 12 - i * 8, 710, ey + 35, 625, ey + 10));
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
    st.exchanges.forEach(function (x) {
      var f = function (b) { return b.partner === null && b.exchange === x.id; };
      setEdge('x:' + x.id, count(f, 300000), count(f, 60000));
    });
    var unknown = count(function (b) { return b.partner === null && !b.exchange; }, 300000);
    if (flow.unknown) flow.unknown.textContent = unknown.total > 0 ? 'отклонено от неизвестных / refused from unknown: ' + unknown.total : '';
  }
  function pulse(id) {
    st.pulses[id] = (st.pulses[id] || 0) + 1;
    setTimeout(function () { st.pulses[id] -= 1; if (st.pulses[id] <= 0) delete st.pulses[id]; scheduleRender(); }, 700);
  }

  // ---- queues and deliveries ---------------------------------------------------
  function refreshQueues() {
    api('/api/v1/ops/queues').then(renderQueues, function () {});
    if (st.exchanges.length) api('/api/v1/ops/exchanges').then(renderPolls, function () {});
  }
  function renderPolls(r) {
    r.exchanges.forEach(function (x) {
      st.polls[x.id] = x;
      var label = flow.polls && flow.polls[x.id];
      if (label) {
        label.textContent = 'опросов 5 мин / polls 5 min: ' + x.polls5m + (x.failed5m ? ' (сбоев / failed ' + x.failed5m + ')' : '');
        label.setAttribute('class', 'sub' + (x.failed1m ? ' bad-text' : ''));
        label.setAttribute('data-polls', x.polls5m);
      }
    });
  }
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
        el('td', null, el('div', { class: 'actions' },
          isDead ? el('button', { type: 'button', 'data-replay': d.id, 'aria-label': 'Повторить доставку / Replay delivery ' + d.registrationNumber + ' ' + d.code, text: 'Повторить / Replay', on: { click: function (ev) { replay(d, ev.currentTarget); } } }) : null,
          el('button', { type: 'button', class: 'secondary', 'data-discard': d.id, 'aria-label': 'Отказаться от доставки / Discard delivery ' + d.registrationNumber + ' ' + d.code, text: 'Отказаться / Discard', on: { click: function (ev) { discard(d, ev.currentTarget); } } })))));
    });
  }
  /** title / okLabel: [Russian, English]; default: discarding a delivery. */
  // ---- dead exchange messages (pull mode) ----------------------------------------
  var REASONS = {
    unreadable: 'не читается / unreadable', 'processing-failed': 'ошибка обработки / processing failed',
    'attachment-unavailable': 'вложение недоступно / attachment unavailable'
  };
  function refreshDeadMessages() {
    if (st.exchanges.length === 0) return;
    api('/api/v1/ops/exchange-messages?state=dead&limit=100').then(function (r) { renderDeadMessages(r.items); }, function () {});
  }
  function renderDeadMessages(items) {
    var body = $('xdead-body');
    clear(body);
    if (items.length === 0) {
      body.appendChild(el('tr', null, el('td', { colspan: 7, class: 'empty', text: 'Нет / None' })));
      return;
    }
    items.forEach(function (d) {
      var label = (d.messageId || d.digest.slice(0, 12));
      var noId = 'MessageID не прочитан: биржа не примет Ack / MessageID unreadable: the exchange cannot be told';
      body.appendChild(el('tr', { 'data-dead-message': d.id, 'data-message-id': d.messageId || '' },
        el('td', null, el('strong', { class: 'mono', text: d.exchange }), el('div', { class: 'muted', text: exchangeName(d.exchange) })),
        el('td', { class: 'mono' }, d.messageId ? d.messageId : el('span', { class: 'bad', text: '— (' + noId + ')' }), d.messageIdFrom === 'salvaged' ? el('div', { class: 'muted', text: 'найден в нечитаемых байтах / found in unreadable bytes' }) : null),
        el('td', null, el('strong', { text: REASONS[d.reason] || d.reason }), el('div', { class: 'mono muted', text: d.detail }),
          d.redeliveries ? el('div', { class: 'muted', text: 'доставлено снова, не обработано / delivered again, not processed: ' + d.redeliveries }) : null),
        el('td', { class: 'num', text: d.tries }),
        el('td', null, timeEl(d.deadAt, true)),
        el('td', null, el('button', { type: 'button', class: 'linklike', 'data-journal': d.journalRecordId, 'aria-label': 'Запись журнала / Journal record ' + label, text: 'журнал / journal', on: { click: function () { showProof(d.journalRecordId); } } })),
        el('td', null, el('div', { class: 'actions' },
          el('button', { type: 'button', 'data-ack': d.id, disabled: d.canAck ? null : 'disabled', title: d.canAck ? null : noId, 'aria-label': 'Подтвердить получение / Ack ' + label, text: 'Ack', on: { click: function (ev) { deadAction(d, 'ack', ev.currentTarget); } } }),
          el('button', { type: 'button', class: 'danger', 'data-reject': d.id, disabled: d.canReject ? null : 'disabled', title: d.canReject ? null : (d.messageId ? 'Нет ReplyTo или это ответ / No ReplyTo, or a response' : noId), 'aria-label': 'Отказать отправителю / RequestRejected ' + label, text: 'RequestRejected', on: { click: function (ev) { deadAction(d, 'reject', ev.currentTarget); } } })))));
    });
  }
  function exchangeName(id) {
    for (var i = 0; i < st.exchanges.length; i++) if (st.exchanges[i].id === id) return st.exchanges[i].name;
    return '';
  }
  function deadAction(d, action, button) {
    var text = action === 'ack'
      ? 'Биржа удалит сообщение ' + d.messageId + ' из очереди шлюза; отправитель ответа не получит. / The exchange drops message ' + d.messageId + ' from the gateway’s queue; the sender gets no answer.'
      : 'Отправитель сообщения ' + d.messageId + ' получит через биржу отказ (RequestRejected, FAILURE), затем биржа удалит сообщение. / The sender of ' + d.messageId + ' gets RequestRejected (FAILURE) through the exchange; then the message is acknowledged.';
    var title = action === 'ack' ? ['Подтвердить получение (Ack)?', 'Acknowledge the message (Ack)?'] : ['Отказать отправителю?', 'Reject the request (RequestRejected)?'];
    var ok = action === 'ack' ? ['Подтвердить', 'Ack'] : ['Отказать', 'RequestRejected'];
    confirmDialog(text, title, ok).then(function (yes) {
      if (!yes) { button.focus(); return; }
      button.disabled = true;
      $('xdead-error').textContent = '';
      api('/api/v1/ops/exchange-messages/' + encodeURIComponent(d.id) + '/' + action, { method: 'POST' })
        .then(function () { refreshDeadMessages(); }, function (err) { button.disabled = false; $('xdead-error').textContent = 'Не удалось / Failed: ' + err.message; });
    });
  }

  function confirmDialog(text, title, okLabel) {
    var dlg = $('confirm');
    title = title || ['Отказаться от доставки?', 'Discard the delivery?'];
    okLabel = okLabel || ['Отказаться', 'Discard'];
    clear($('confirm-title'));
    append($('confirm-title'), [title[0] + ' ', el('span', { class: 'en', lang: 'en', text: '/ ' + title[1] })]);
    clear($('confirm-ok'));
    append($('confirm-ok'), [okLabel[0] + ' ', el('span', { lang: 'en', text: '/ ' + okLabel[1] })]);
    $('confirm-text').textContent = text;
    return new Promise(function (resolve) {
      function done(answer) {
        $('confirm-ok').onclick = null;
        $('confirm-cancel').onclick = null;
        dlg.oncancel = null;
        if (dlg.open) dlg.close();
        resolve(answer);
      }
      $('confirm-ok').onclick = function () { done(true); };
      $('confirm-cancel').onclick = function () { done(false); };
      dlg.oncancel = function (ev) { ev.preventDefault(); done(false); };
      dlg.showModal();
    });
  }
  function discard(d, button) {
    var retrying = d.state !== 'failed';
    var text = 'Статус «' + d.code + '» заявления ' + d.registrationNumber + ' не будет доставлен порталу' + (retrying ? ' (попыток уже ' + d.attempts + ', следующих не будет)' : '') + '; следующие статусы пойдут дальше. / ' +
      'The status "' + d.code + '" of ' + d.registrationNumber + ' will never reach the portal' + (retrying ? ' (' + d.attempts + ' attempts so far; no more will be made)' : '') + '; later statuses go on.';
    confirmDialog(text).then(function (ok) {
      if (!ok) { button.focus(); return; }
      button.disabled = true;
      $('dead-error').textContent = '';
      api('/api/v1/ops/deliveries/' + encodeURIComponent(d.id) + '/discard', { method: 'POST' })
        .then(function () { refreshDeliveries(); refreshQueues(); if (st.trailId === d.applicationId) reloadTrailSoon(); },
          function (err) { button.disabled = false; $('dead-error').textContent = 'Не удалось / Failed: ' + err.message; });
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
    var parts = [el('span', { class: 'badge ' + (d.state === 'delivered' ? 'good' : d.state === 'failed' || d.state === 'discarded' ? 'bad' : 'warn'), 'data-state': d.state, text: STATES[d.state] || d.state })];
    if (d.deliveredAt) parts.push(' ', timeEl(d.deliveredAt));
    parts.push(el('span', { class: 'attempts', text: ' · попыток / attempts: ' + d.attempts + (d.totalAttempts > d.attempts ? ' (всего / in all ' + d.totalAttempts + ')' : '') }));
    if (d.ackedAt) parts.push(' · Ack ', timeEl(d.ackedAt));
    (d.history || []).forEach(function (h) {
      parts.push(el('div', { class: 'history', 'data-history': h.action },
        h.from === 'retrying' ? el('span', { class: 'badge warn', text: 'застряло / was stuck' }) : el('span', { class: 'badge bad', text: 'было мёртвым / was dead' }),
        ' после попыток / after attempts: ' + h.attempts + (h.deadAt ? ' · ' : ''), h.deadAt ? timeEl(h.deadAt, true) : null,
        ' → ', el('strong', { text: h.action === 'replay' ? 'повторено / replayed' : 'отказались / discarded' }), ' ', timeEl(h.at, true),
        h.lastError ? el('div', { class: 'mono muted', text: h.lastError }) : null));
    });
    if (d.lastError && d.state !== 'delivered') parts.push(el('div', { class: 'mono bad', text: d.lastError }));
    return parts;
  }
  function journalList(e) {
    if (!e.journal || e.journal.length === 0) return null;
    return el('ul', { class: 'attempts' }, e.journal.map(function (j, k) {
      return el('li', { 'data-record': j.id },
        e.delivery ? 'попытка / attempt ' + (k + 1) + ' · ' : j.operation + ' · ',
        j.at ? timeEl(j.at) : '—', ' ',
        el('span', { class: j.succeeded ? 'good' : 'bad', text: j.succeeded ? '✓ успех / ok' : '✗ ' + (j.faultCode || 'ошибка / failed') }), ' ',
        el('button', { type: 'button', class: 'linklike', 'data-journal': j.id, 'aria-label': 'Запись журнала / Journal record ' + (k + 1), text: 'журнал / journal', on: { click: function () { showProof(j.id); } } }));
    }));
  }
  function renderTrail(t) {
    var box = $('trail');
    clear(box);
    var a = t.application;
    append(box, el('h3', { id: 'trail-title' }, 'Заявление / Application ', el('span', { class: 'mono', text: a.registrationNumber })),
      el('p', { class: 'muted' }, a.serviceTitle + ' · ' + a.partner + ' · текущий статус / current status: ', el('strong', { text: a.status }), ' · id ', el('code', { text: a.id })));
    append(box, el('ol', { class: 'trail', 'aria-labelledby': 'trail-title', 'data-application': a.id }, t.entries.map(function (e) {
      var failed = e.delivery && (e.delivery.state === 'failed' || e.delivery.state === 'discarded');
      return el('li', { class: failed ? 'failed' : null, 'data-kind': e.kind },
        el('span', { class: 'when' }, timeEl(e.at, true)),
        el('span', { class: 'what', text: KINDS[e.kind] || e.kind }),
        el('span', { text: e.title }),
        e.partner ? el('span', { class: 'muted', text: ' · ' + e.partner }) : null,
        e.state ? el('span', { class: 'muted', text: ' · ' + e.state }) : null,
        e.messageId ? el('div', { class: 'mono muted', text: 'MessageID ' + e.messageId }) : null,
        e.delivery ? el('div', null, deliveryText(e.delivery)) : null,
        journalList(e));
    })));
  }

  // ---- journal records and their evidence ---------------------------------------
  function openEventRecord(e) {
    var q = '?direction=' + e.direction + '&operation=' + encodeURIComponent(e.operation) + '&at=' + encodeURIComponent(e.at) + (e.messageId ? '&messageId=' + encodeURIComponent(e.messageId) : '');
    showPanel();
    api('/api/v1/ops/journal-of-event' + q).then(function (r) { showProof(r.id); }, proofError);
  }
  function showPanel() {
    $('proof-panel').hidden = false;
    clear($('proof'));
    append($('proof'), el('p', { class: 'muted', text: 'Загрузка… / Loading…' }));
  }
  function proofError(err) {
    clear($('proof'));
    append($('proof'), el('p', { class: 'error', text: 'Ошибка / Error: ' + err.message }));
  }
  function showProof(id) {
    showPanel();
    return api('/api/v1/ops/journal/' + encodeURIComponent(id) + '/proof').then(function (p) {
      renderProof(p);
      $('proof-title').focus();
      $('proof-panel').scrollIntoView({ block: 'nearest' });
    }, proofError);
  }
  function row(term, value) { return [el('dt', { text: term }), el('dd', null, value)]; }
  function renderProof(p) {
    var box = $('proof'), r = p.record;
    clear(box);
    var at = r.requestInTs || r.requestOutTs;
    var seal = p.sealVerified === true ? el('span', { class: 'good', 'data-seal': 'intact', text: 'запись цела, печать № ' + p.seal.seq + ' / record intact, seal #' + p.seal.seq })
      : p.sealVerified === false ? el('span', { class: 'bad', 'data-seal': 'changed', text: 'ЗАПИСЬ ИЗМЕНЕНА после печати / record CHANGED after sealing' })
      : el('span', { class: 'warn', 'data-seal': 'unsealed', text: 'ещё не опечатана / not sealed yet' });
    append(box, el('dl', { class: 'proof', 'data-record': r.id },
      row('Запись / Record', el('code', { text: r.id })),
      row('Обмен / Exchange', (r.direction === 'inbound' ? '→ вход / in ' : '← исх. / out ') + r.operation),
      row('Партнёр / Partner', r.partner || '—'),
      row('Услуга / Service', r.service || '—'),
      row('MessageID', el('code', { text: r.messageId || '—' })),
      row('Время / Time', at ? timeEl(at, true) : '—'),
      row('Итог / Outcome', el('span', { class: r.succeeded ? 'good' : 'bad', text: r.succeeded ? 'успех / succeeded' : 'ошибка / failed: ' + (r.faultCode || '') + (r.faultString ? ' — ' + r.faultString : '') })),
      r.xroad ? xroadRows(r.xroad) : null,
      row('Печать / Seal', seal)));
    ['request', 'response'].forEach(function (part) {
      var v = p[part];
      var title = part === 'request' ? 'Запрос / Request' : 'Ответ / Reply';
      if (!v) { append(box, el('div', { class: 'envelope', 'data-part': part }, el('h3', { text: title }), el('p', { class: 'muted', text: 'не хранится / not kept' }))); return; }
      append(box, el('div', { class: 'envelope', 'data-part': part },
        el('h3', { text: title }),
        el('p', null, el('span', { class: 'badge ' + (v.verdict === 'valid' ? 'good' : v.verdict === 'invalid' || v.verdict === 'unreadable' ? 'bad' : 'warn'), 'data-verdict': v.verdict, text: VERDICTS[v.verdict] || v.verdict }),
          ' ', el('span', { class: 'muted', text: v.message })),
        v.signatures.length ? el('ul', null, v.signatures.map(function (g) {
          return el('li', null, el('strong', { text: g.element }), ' · ', g.signer ? 'подписал / signed by ' + g.signer : 'подписант не зарегистрирован / signer not registered',
            ' · математика / mathematics: ' + g.math + ' · ' + (g.trusted === null ? '' : g.trusted ? 'доверие / trusted' : 'нет доверия / NOT trusted: ' + (g.trust || '')),
            g.certificateSubject ? el('div', { class: 'mono muted', text: g.certificateSubject }) : null);
        })) : null,
        el('p', null,
          el('button', { type: 'button', 'data-download': part, text: 'Скачать / Download (' + v.bytes + ' байт / bytes)', on: { click: function (ev) { download(r.id, part, ev.currentTarget); } } }),
          ' SHA-256 ', el('code', { text: v.sha256 }), ' ',
          v.intact === null ? el('span', { class: 'badge warn', 'data-intact': 'unknown', text: 'не запечатан / digest not sealed (older record)' })
            : el('span', { class: 'badge ' + (v.intact ? 'good' : 'bad'), 'data-intact': String(v.intact), text: v.intact ? 'совпадает с печатью / matches the seal' : 'ИЗМЕНЁН после записи / CHANGED since it was journaled' }),
          el('span', { class: 'note', text: ' проверено на момент обмена / checked as of ' + hms(v.checkedAt) }))));
    });
  }
  /** An X-Road record's identifiers and every protocol header as it travelled. */
  function xroadRows(x) {
    var headers = Object.keys(x.headers || {}).map(function (k) { return el('div', { class: 'mono', 'data-xroad-header': k, text: k + ': ' + x.headers[k] }); });
    return [].concat(
      row(x.dialect === 'trembita' ? 'Трембіта / Trembita' : 'X-Road', (x.protocol || '').toUpperCase() + (x.protocolVersion ? ' ' + x.protocolVersion : '')),
      row('Клиент / Client', el('code', { 'data-xroad-client': '', text: x.client || '—' })),
      row('Сервис / Service', el('code', { text: x.service || '—' })),
      row('Id', el('code', { 'data-xroad-id': '', text: x.id || '—' })),
      row('UserId', x.userId || '—'),
      headers.length ? row('Заголовки / Headers', el('div', null, headers)) : []);
  }
  function download(id, part, button) {
    button.disabled = true;
    fetch('/api/v1/ops/journal/' + encodeURIComponent(id) + '/evidence/' + part, { headers: headers({ accept: '*/*' }), cache: 'no-store' })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        var m = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '');
        return res.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var a = el('a', { href: url, download: m ? m[1] : id + '.' + part + '.xml', hidden: 'hidden' });
          document.body.appendChild(a);
          a.click();
          document.body.removeChild(a);
          setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
        });
      })
      .catch(function (err) { append($('proof'), el('p', { class: 'error', text: 'Не удалось скачать / Download failed: ' + err.message })); })
      .then(function () { button.disabled = false; });
  }

  // ---- 24-hour charts ------------------------------------------------------------
  var chartsTimer = null;
  function refreshChartsSoon() {
    if (chartsTimer) return;
    chartsTimer = setTimeout(function () { chartsTimer = null; refreshCharts(); }, 3000);
  }
  function refreshCharts() { api('/api/v1/ops/series?hours=24').then(renderCharts, function () {}); }
  function chart(line, metric) {
    var pts = line.points, n = pts.length, W = 260, H = 56, top = 12, h = H - top - 2;
    var values = pts.map(function (p) { return metric === 'p95' ? p.p95Ms : p[metric]; });
    var max = 0, total = 0;
    values.forEach(function (v) { if (v !== null && v > max) max = v; if (metric !== 'p95' && v) total += v; });
    var x = function (i) { return (i + 0.5) * W / n; };
    var y = function (v) { return top + h - (max > 0 ? v / max * h : 0); };
    var d = '';
    if (metric === 'p95') {
      var pen = false;
      values.forEach(function (v, i) { if (v === null) { pen = false; return; } d += (pen ? ' L' : ' M') + x(i).toFixed(1) + ',' + y(v).toFixed(1); pen = true; });
    } else {
      d = 'M0,' + (top + h);
      values.forEach(function (v, i) { d += ' L' + x(i).toFixed(1) + ',' + y(v).toFixed(1); });
      d += ' L' + W + ',' + (top + h) + ' Z';
    }
    var names = { messages: 'сообщений / messages', errors: 'ошибок / errors', p95: 'p95, мс / ms' };
    var label = partnerName(line.partner) + ': ' + names[metric] + (metric === 'p95' ? ', макс. / max ' + max : ' за 24 ч / in 24 h: ' + total + ', макс. за 5 мин / max per 5 min: ' + max);
    return sv('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': label, 'data-chart': line.partner + ':' + metric, 'data-total': metric === 'p95' ? max : total, preserveAspectRatio: 'none' },
      sv('title', { text: label }),
      sv('line', { class: 'axis', x1: 0, y1: top + h, x2: W, y2: top + h }),
      d ? sv('path', { class: metric === 'messages' ? 'area' : metric === 'errors' ? 'err' : 'lat', d: d }) : null,
      sv('text', { x: 2, y: 9, text: metric === 'p95' ? 'макс. / max ' + max : 'Σ ' + total + ' · макс. / max ' + max }));
  }
  function renderCharts(s) {
    var body = $('charts-body');
    clear(body);
    $('charts-note').textContent = '(шаг / step ' + Math.round(s.bucketMs / 60000) + ' мин / min, ' + dayTime(s.from) + ' – ' + dayTime(s.to) + ')';
    if (s.partners.length === 0) { body.appendChild(el('tr', null, el('td', { colspan: 4, class: 'empty', text: 'Пока нет данных / No data yet' }))); return; }
    s.partners.forEach(function (line) {
      body.appendChild(el('tr', { 'data-series': line.partner },
        el('th', { scope: 'row', text: partnerName(line.partner) }),
        el('td', null, chart(line, 'messages')),
        el('td', null, chart(line, 'errors')),
        el('td', null, chart(line, 'p95'))));
    });
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
  ['f-partner', 'f-service', 'f-direction', 'f-outcome'].forEach(function (id) { $(id).addEventListener('change', readFilters); });
  $('filters').addEventListener('submit', function (ev) { ev.preventDefault(); });
  $('filters').addEventListener('reset', function () { setTimeout(readFilters, 0); });
  if (st.token) signIn(st.token); else { showBoard(false); $('token').focus(); }
})();
</script>
</body>
</html>
`;
