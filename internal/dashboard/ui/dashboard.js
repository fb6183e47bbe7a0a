// warmgate dashboard: polls /api/pools every second and draws it. No
// framework, no build step, no network beyond this gateway. Every value
// from the gateway goes into the page as text (textContent), never as HTML.
'use strict';

(function () {
  const KEY_STORE = 'warmgate.adminKey';
  const REFRESH_MS = 1000;
  const SLOW_MS = 5000; // when the admin endpoints are off: nothing to show, check now and then
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const CIRCUIT = ['closed', 'half-open', 'open'];

  const $ = (id) => document.getElementById(id);
  const cards = new Map(); // upstream name -> card parts
  let timer = 0;
  let waitingForKey = false;

  // ---------- formatting ----------

  function fmtInt(n) {
    return n == null ? '—' : Math.round(n).toLocaleString('en-US');
  }
  function fmtRate(r) {
    if (r == null) return '—';
    return r < 10 ? r.toFixed(1) : fmtInt(r);
  }
  function fmtMs(v) {
    if (v == null) return '—';
    if (v === 0) return '<1 µs'; // the histogram's first bucket
    if (v < 1) return Math.max(1, Math.round(v * 1000)) + ' µs';
    if (v < 10) return v.toFixed(1) + ' ms';
    if (v < 1000) return Math.round(v) + ' ms';
    return (v / 1000).toFixed(v < 10000 ? 2 : 1) + ' s';
  }
  function fmtNs(ns) {
    if (!ns) return '—';
    return fmtMs(ns / 1e6);
  }
  function fmtSeconds(ns) {
    if (!ns) return '—';
    const s = ns / 1e9;
    if (s < 1) return Math.round(s * 1000) + ' ms';
    if (s < 120) return (s < 10 ? s.toFixed(1) : Math.round(s)) + ' s';
    return (s / 60).toFixed(1) + ' min';
  }
  function fmtUptime(s) {
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + m + 'm';
    if (m) return m + 'm ' + (s % 60) + 's';
    return (s % 60) + 's';
  }
  function fmtPct(r) {
    return (r * 100).toFixed(r >= 0.9995 || r === 0 ? 0 : 1) + '%';
  }
  function pair(l) {
    if (!l || !l.count) return '—';
    return fmtMs(l.p50_ms) + ' / ' + fmtMs(l.p99_ms);
  }

  // ---------- DOM helpers ----------

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function setText(e, t) {
    if (e.textContent !== t) e.textContent = t;
  }

  // A sparkline: an SVG one unit wide per second, the newest on the right.
  // It spans `slots` seconds (the window), or at least a minute while the
  // gateway is younger, so that early points are not lost in five empty
  // minutes. Values may be null (no data that second): the line breaks
  // there. opts.max fixes the vertical scale (ratios); else it fits the data.
  function sparkline(values, slots, opts) {
    const W = Math.min(slots, Math.max(60, values.length)), H = 40, pad = 2;
    const s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    let max = opts.max;
    if (max == null) {
      max = 0;
      for (const v of values) if (v != null && v > max) max = v;
      if (max === 0) max = 1;
    }
    const x0 = W - values.length;
    const y = (v) => H - pad - (Math.min(v, max) / max) * (H - 2 * pad);
    if (opts.ref != null) {
      s.appendChild(svg('line', { class: 'ref', x1: 0, x2: W, y1: y(opts.ref), y2: y(opts.ref) }));
    }
    let run = [];
    const flush = () => {
      if (!run.length) return;
      if (run.length === 1) run.push([run[0][0] + 1, run[0][1]]); // a lone point still shows
      const d = run.map((p, i) => (i ? 'L' : 'M') + p[0] + ' ' + p[1].toFixed(1)).join('');
      if (opts.area) {
        const a = d + 'L' + run[run.length - 1][0] + ' ' + (H - pad) + 'L' + run[0][0] + ' ' + (H - pad) + 'Z';
        s.appendChild(svg('path', { class: 'area', d: a }));
      }
      s.appendChild(svg('path', { class: 'line', d: d }));
      run = [];
    };
    values.forEach((v, i) => {
      if (v == null) { flush(); return; }
      run.push([x0 + i + 0.5, y(v)]);
    });
    flush();
    return s;
  }

  function sparkBox(title) {
    const box = el('div', 'spark');
    const head = el('div', 'spark-head');
    const now = el('b');
    head.append(el('span', null, title), now);
    box.appendChild(head);
    return { box, now };
  }
  function drawSpark(box, values, slots, opts) {
    const old = box.querySelector('svg');
    const s = sparkline(values, slots, opts);
    if (old) old.replaceWith(s); else box.appendChild(s);
  }

  function chips(box, counts, cls) {
    box.replaceChildren();
    const names = Object.keys(counts || {}).sort((a, b) => counts[b] - counts[a]);
    if (!names.length) { box.appendChild(el('span', 'chip none', 'none')); return; }
    for (const n of names) box.appendChild(el('span', 'chip ' + cls, n + ' ' + fmtInt(counts[n])));
  }

  // ---------- one card per upstream ----------

  function newCard(name) {
    const c = {};
    c.root = el('article', 'card');
    c.root.dataset.upstream = name;
    const head = el('div', 'card-head');
    c.url = el('span', 'url');
    c.circuit = el('span', 'badge');
    c.cooldown = el('span', 'badge cooldown', 'cooling down');
    c.proto = el('span', 'badge proto');
    c.proto.title = 'protocol of its connections: h2 carries many requests on one connection, http/1.1 one at a time';
    head.append(el('h2', null, name), c.url, c.proto, c.cooldown, c.circuit);
    c.alert = el('div', 'alert');
    c.alert.hidden = true;

    const reuse = el('div', 'reuse');
    c.reuse = el('div', 'reuse-value none', '—');
    const txt = el('div');
    c.reuseCaption = el('div', 'reuse-caption', 'connection reuse');
    c.reuseDetail = el('div', 'reuse-detail');
    txt.append(c.reuseCaption, c.reuseDetail);
    reuse.append(c.reuse, txt);

    const grid = el('dl', 'grid');
    const item = (label) => {
      const d = el('div');
      const dd = el('dd');
      dd.label = el('dt', null, label); // relabelled where what it shows changes
      d.append(dd.label, dd);
      grid.appendChild(d);
      return dd;
    };
    c.conns = item('connections active / idle');
    c.opened = item('opened / min');
    c.rps = item('attempts / s (retries included)');
    c.inflight = item('in flight');
    c.firstByte = item('first byte p50 / p99');
    c.body = item('body (to last byte) p50 / p99');
    c.poolWait = item('pool wait p50 / p99');
    c.tls = item('TLS handshake p50 / p99');
    c.idle = item('idle timeout effective / learned');
    c.exhausted = item('pool exhausted');

    const sparks = el('div', 'sparks');
    c.sReq = sparkBox('attempts / s');
    c.sNew = sparkBox('new connections / s');
    c.sReuse = sparkBox('reuse');
    sparks.append(c.sReq.box, c.sNew.box, c.sReuse.box);

    const issues = el('div', 'issues');
    const issue = (label) => {
      const d = el('div');
      const box = el('div', 'chips');
      d.append(el('div', 'label', label), box);
      issues.appendChild(d);
      return box;
    };
    c.errors = issue('errors, last minute');
    c.retries = issue('retries, last minute');

    c.root.append(head, c.alert, reuse, grid, sparks, issues);
    return c;
  }

  // An upstream whose circuit is not closed is unhealthy, whatever its
  // reuse figure says: the card turns red (amber while half-open), says
  // why, and greys the figure out. Returns whether it is.
  function showHealth(c, st) {
    const unhealthy = st !== 'closed';
    c.root.classList.toggle('unhealthy', unhealthy);
    c.root.classList.toggle('half-open', st === 'half-open');
    c.root.dataset.health = unhealthy ? 'unhealthy' : 'healthy';
    c.alert.hidden = !unhealthy;
    if (st === 'open') {
      setText(c.alert, 'Unhealthy: its circuit is open after repeated failures, so requests skip it until a probe after the cooldown succeeds.');
    } else if (st === 'half-open') {
      setText(c.alert, 'Recovering: its circuit is half-open; one probe request decides whether it takes traffic again.');
    }
    return unhealthy;
  }

  // FEW is how many connection checkouts a reuse figure needs before its
  // colour means anything: the first request of every connection is new,
  // so 1 reused of 2 (50%) says nothing about keep-alive yet.
  const FEW = 10;

  function reuseClass(r, n) {
    if (n < FEW) return 'few';
    if (r >= 0.9) return 'good';
    if (r >= 0.7) return 'warn';
    return 'bad';
  }

  function updateCard(c, u, slots) {
    const m = u.last_minute || {};
    const t = u.total || {};
    const w = u.window || {};
    setText(c.url, u.base_url || '');
    const st = CIRCUIT[u.circuit_state || 0] || String(u.circuit_state);
    setText(c.circuit, 'circuit ' + st);
    c.circuit.className = 'badge ' + st;
    c.cooldown.hidden = !u.cooldown_until;
    setText(c.proto, u.protocol || 'no connection yet');
    const unhealthy = showHealth(c, st);

    // The big figure: the last minute, or since start when the last minute
    // had no request.
    let r = m.reuse_ratio, caption = 'connection reuse, last minute';
    let n = (m.reused || 0) + (m.new_connections || 0);
    let detail = fmtInt(m.reused) + ' reused · ' + fmtInt(m.new_connections) + ' new';
    if (r == null && t.reuse_ratio != null) {
      r = t.reuse_ratio;
      n = (t.reused || 0) + (t.new_connections || 0);
      caption = 'connection reuse since start';
      detail = 'no request in the last minute · ' + fmtInt(t.reused) + ' reused · ' + fmtInt(t.new_connections) + ' new';
    } else if (t.reuse_ratio != null) {
      detail += ' · since start ' + fmtPct(t.reuse_ratio);
    }
    if (r == null) {
      setText(c.reuse, '—');
      c.reuse.className = 'reuse-value none';
      detail = 'no request yet';
    } else {
      setText(c.reuse, fmtPct(r));
      c.reuse.className = 'reuse-value ' + (unhealthy ? 'muted' : reuseClass(r, n));
      if (n < FEW) detail += ' · too few requests to judge yet';
      if (unhealthy) caption += ' (of the requests it got before)';
    }
    c.reuse.dataset.ratio = r == null ? '' : String(r);
    setText(c.reuseCaption, caption);
    setText(c.reuseDetail, detail);

    setText(c.conns, fmtInt(u.connections_active) + ' / ' + fmtInt(u.connections_idle));
    c.opened.replaceChildren(fmtInt(m.new_connections) + ' ', el('span', 'sub', '(' + fmtInt(u.connections_opened) + ' since start)'));
    setText(c.rps, fmtRate(m.requests_per_second));
    const conns = u.connections_active || 0;
    c.inflight.replaceChildren(fmtInt(u.in_flight) + ' ', el('span', 'sub', '(on ' + fmtInt(conns) + ' active connection' +
      (conns === 1 ? '' : 's') + (u.protocol ? ', ' + u.protocol : '') + ')'));
    setText(c.firstByte, pair(m.first_byte));
    setText(c.body, pair(m.body));
    setText(c.poolWait, pair(m.pool_wait));
    setText(c.tls.label, 'TLS handshake p50 / p99');
    if (m.tls_handshake && m.tls_handshake.count) {
      setText(c.tls, pair(m.tls_handshake));
    } else if (u.tls_handshakes) {
      setText(c.tls.label, 'TLS handshake avg');
      c.tls.replaceChildren(fmtNs(u.tls_avg_ns) + ' ', el('span', 'sub', '(' + fmtInt(u.tls_handshakes) + ' since start; none this minute)'));
    } else {
      c.tls.replaceChildren(el('span', 'sub', u.base_url && u.base_url.startsWith('http:') ? 'plain HTTP: no TLS' : 'none yet'));
    }
    c.idle.replaceChildren(fmtSeconds(u.idle_timeout_ns) + ' / ',
      u.learned_idle_timeout_ns ? fmtSeconds(u.learned_idle_timeout_ns) : el('span', 'sub', 'not learned yet'));
    setText(c.exhausted, fmtInt(u.pool_exhausted));

    const req = w.requests || [];
    const fresh = w.new_connections || [];
    const ratio = w.reuse_ratio || [];
    setText(c.sReq.now, req.length ? fmtInt(req[req.length - 1]) : '—');
    setText(c.sNew.now, fresh.length ? fmtInt(fresh[fresh.length - 1]) : '—');
    let lastRatio = null;
    for (let i = ratio.length - 1; i >= 0 && lastRatio == null; i--) lastRatio = ratio[i];
    setText(c.sReuse.now, lastRatio == null ? '—' : fmtPct(lastRatio));
    drawSpark(c.sReq.box, req, slots, { area: true });
    drawSpark(c.sNew.box, fresh, slots, { area: true });
    drawSpark(c.sReuse.box, ratio, slots, { max: 1, ref: 0.9 });

    chips(c.errors, m.errors, 'err');
    chips(c.retries, m.retries, '');
  }

  // ---------- what API clients got, by status class ----------

  const CLASS_TITLE = { '2xx': '2xx answered', '4xx': '4xx refused (client errors)', '429': '429 rate limited', '5xx': '5xx failed' };
  const classBoxes = new Map();

  function renderAnswers(snap, slots) {
    const a = snap.answers;
    if (!a || !a.classes) return;
    $('answers').hidden = false;
    const box = $('answer-classes');
    for (const cls of a.classes) {
      let b = classBoxes.get(cls);
      if (!b) {
        b = { root: el('div', 'total answer-class c' + cls) };
        b.root.dataset.class = cls;
        b.num = el('span', 'num');
        b.spark = el('span', 'spark-slot');
        b.root.append(el('span', 'label', (CLASS_TITLE[cls] || cls) + ', last minute'), b.num, b.spark);
        box.appendChild(b.root);
        classBoxes.set(cls, b);
      }
      const n = (a.last_minute || {})[cls] || 0;
      setText(b.num, fmtInt(n));
      b.root.classList.toggle('zero', n === 0);
      b.root.title = fmtInt((a.total || {})[cls] || 0) + ' since start';
      b.spark.replaceChildren(sparkline((a.series || {})[cls] || [], slots, { area: true }));
    }
  }

  // ---------- the whole page ----------

  function render(snap) {
    const slots = snap.window_seconds || 300;
    const g = snap.gateway || {};
    $('gateway').hidden = false;
    setText($('version'), g.version || '');
    setText($('g-uptime'), fmtUptime(g.uptime_seconds || 0));
    setText($('g-requests'), fmtInt(g.requests));
    setText($('g-rps'), fmtRate(g.requests_per_second));
    setText($('g-errors'), fmtInt(g.errors));
    setText($('g-retries'), fmtInt(g.retries));
    const gs = $('g-spark');
    gs.replaceChildren(sparkline(g.requests_series || [], slots, { area: true }));
    renderAnswers(snap, slots);

    const box = $('upstreams');
    const seen = new Set();
    for (const u of snap.upstreams || []) {
      seen.add(u.name);
      let c = cards.get(u.name);
      if (!c) {
        c = newCard(u.name);
        cards.set(u.name, c);
      }
      if (c.root.parentNode !== box || box.children[seen.size - 1] !== c.root) {
        box.insertBefore(c.root, box.children[seen.size - 1] || null); // keep the config order
      }
      updateCard(c, u, slots);
    }
    for (const [name, c] of cards) {
      if (!seen.has(name)) { c.root.remove(); cards.delete(name); }
    }
  }

  // ---------- per-key rate limits, from /api/pools ----------

  // limitCell draws one limit of a key: a meter of what is used (spent and
  // not refilled yet), "used of limit", and how long until it is all back.
  function limitCell(u) {
    const td = document.createElement('td');
    if (!u) {
      td.className = 'muted';
      td.textContent = '—';
      return td;
    }
    const box = el('div', 'limit');
    const m = document.createElement('meter');
    m.min = 0;
    m.max = Math.max(u.limit, 1);
    m.low = m.max * 0.5;
    m.high = m.max * 0.9;
    m.optimum = 0;
    m.value = u.used;
    box.dataset.used = String(u.used);
    box.dataset.limit = String(u.limit);
    box.append(m, el('span', 'used', fmtInt(u.used) + ' of ' + fmtInt(u.limit) + ' used'),
      el('span', 'sub', u.reset_seconds > 0 ? 'all back in ' + fmtSeconds(u.reset_seconds * 1e9) : 'all available'));
    td.append(box);
    return td;
  }

  function renderLimits(keys) {
    const rows = (keys && keys.limits) || [];
    const err = (keys && keys.limits_error) || '';
    $('limits').hidden = !rows.length && !err;
    setText($('limits-msg'), err);
    $('limits-msg').hidden = !err;
    $('limits-table').hidden = !rows.length;
    $('limits-rows').replaceChildren(...rows.map((k) => {
      const tr = document.createElement('tr');
      tr.dataset.key = k.name;
      tr.append(cell(k.name), limitCell(k.rpm), limitCell(k.tpm));
      return tr;
    }));
  }

  // ---------- per-key usage, from the usage ledger ----------

  const USAGE_MS = 5000; // the ledger is a database: every 5 s is plenty
  let usageAt = 0;

  function cell(text) {
    const td = document.createElement('td');
    td.textContent = text;
    return td;
  }

  async function refreshUsage(headers) {
    if (Date.now() - usageAt < USAGE_MS) return;
    usageAt = Date.now();
    $('keys').hidden = false;
    let resp;
    try {
      resp = await fetch('/api/usage?by=key&since=24h', { headers: headers, cache: 'no-store', credentials: 'omit' });
    } catch (_) {
      return; // /api/pools says whether the gateway is reachable
    }
    if (!resp.ok) {
      setText($('keys-msg'), resp.status === 404 ? 'the usage ledger is off (usage.disable)' : 'GET /api/usage: ' + await errorMessage(resp));
      $('keys-msg').hidden = false;
      $('keys-table').hidden = true;
      return;
    }
    let rep;
    try {
      rep = await resp.json();
    } catch (_) {
      return;
    }
    const rows = rep.rows || [];
    if (!rows.length) {
      setText($('keys-msg'), 'no requests in the last 24 hours');
      $('keys-msg').hidden = false;
      $('keys-table').hidden = true;
      return;
    }
    const body = $('keys-rows');
    body.replaceChildren(...rows.map((r) => {
      const tr = document.createElement('tr');
      tr.append(cell(r.group || '(no key)'), cell(fmtInt(r.requests)), cell(fmtInt(r.errors)),
        cell(fmtInt(r.prompt_tokens)), cell(fmtInt(r.completion_tokens)),
        cell('$' + (r.cost || 0).toFixed(4)), cell((r.avg_latency_ms || 0).toFixed(1) + ' ms'));
      return tr;
    }));
    $('keys-msg').hidden = true;
    $('keys-table').hidden = false;
  }

  function setStatus(text, cls) {
    setText($('status-text'), text);
    $('status').className = 'status ' + (cls || '');
  }

  function showNotice(text) {
    const n = $('notice');
    setText(n, text || '');
    n.hidden = !text;
  }

  function askForKey(message) {
    waitingForKey = true;
    setText($('auth-msg'), message);
    $('auth').hidden = false;
    setStatus('waiting for the admin key', 'bad');
    $('auth-key').focus();
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(refresh, ms || REFRESH_MS);
  }

  async function errorMessage(resp) {
    try {
      const b = await resp.json();
      if (b && b.error && b.error.message) return b.error.message;
    } catch (_) { /* not JSON */ }
    return 'HTTP ' + resp.status;
  }

  async function refresh() {
    if (waitingForKey) return;
    const key = sessionStorage.getItem(KEY_STORE) || '';
    const headers = { Accept: 'application/json' };
    if (key) headers.Authorization = 'Bearer ' + key;
    let resp;
    try {
      resp = await fetch('/api/pools', { headers: headers, cache: 'no-store', credentials: 'omit' });
    } catch (_) {
      setStatus('cannot reach the gateway; retrying', 'bad');
      schedule();
      return;
    }
    if (resp.status === 401) {
      const msg = await errorMessage(resp);
      if (key) sessionStorage.removeItem(KEY_STORE);
      askForKey(key ? 'That admin key was refused (' + msg + ').' : 'This gateway needs its admin key to show the pools.');
      return;
    }
    if (!resp.ok) {
      showNotice('GET /api/pools: ' + await errorMessage(resp));
      setStatus('no data', 'bad');
      schedule(resp.status === 403 ? SLOW_MS : REFRESH_MS);
      return;
    }
    let snap;
    try {
      snap = await resp.json();
    } catch (_) {
      setStatus('bad answer from /api/pools; retrying', 'bad');
      schedule();
      return;
    }
    showNotice('');
    $('auth').hidden = true;
    render(snap);
    renderLimits(snap.keys);
    refreshUsage(headers);
    setStatus('updated ' + new Date(snap.time).toLocaleTimeString() + ' · every 1 s', 'ok');
    schedule();
  }

  $('auth').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $('auth-key').value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORE, key);
    $('auth-key').value = '';
    $('auth').hidden = true;
    waitingForKey = false;
    setStatus('connecting…', '');
    refresh();
  });

  refresh();
})();
