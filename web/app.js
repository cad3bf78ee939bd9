// The web view: polls /api/cluster or /api/node and draws what it gets.
// One plain ES module, no framework and no build step: the page is two
// views and a poll loop, and a maintainer edits this file and reloads.
// Routes: #/ (every node) and #/node/N (one node). URLs are relative, so
// the page also works behind a proxy that mounts the exporter under a path.

const POLL_MS = 2000;
const HISTORY_POINTS = 150;

const $ = (id) => document.getElementById(id);

// What the tests and the benchmark read (docs/PERFORMANCE.md).
const stats = (window.beostatStats = {
  firstRenderMs: null,
  lastRenderMs: null,
  renders: 0,
  updates: 0,
  nodeUpdates: 0,
  renderTimes: [],           // ms spent drawing each cluster update
  fetchTimes: [],            // ms from request to parsed JSON
});

function note(list, value) {
  list.push(value);
  if (list.length > 200) list.shift();
}

let route = { view: 'cluster', node: null };
let cluster = null;          // last /api/cluster document
let cursor = 0;              // the map cell the keyboard is on
let timer = null;
let generation = 0;          // bumps on a route or metric change
let lastGood = null;         // when data last arrived (ms)
let nodeHistory = { node: null, points: [], previous: null, rates: new Map() };

// ---------- formatting ----------

function bytes(n) {
  if (n == null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(1)) + ' ' + units[i];
}
const rate = (n) => (n == null ? '–' : bytes(Math.round(n)) + '/s');
const pct = (fraction) => (fraction * 100).toFixed(1) + '%';
function age(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 120) return seconds + ' s ago';
  if (seconds < 7200) return Math.round(seconds / 60) + ' min ago';
  if (seconds < 172800) return Math.round(seconds / 3600) + ' h ago';
  return Math.round(seconds / 86400) + ' days ago';
}
const nodeLabel = (n) => (n === -1 ? 'master' : 'node ' + n);

// ---------- colours: a perceptual ramp (viridis stops), 10 buckets ----------

const RAMP = ['#440154', '#482878', '#3e4a89', '#31688e', '#26828e',
  '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'];
const DOWN = '#d7263d';
const NEVER = '#9e9e9e';

const METRICS = {
  cpu: { label: 'CPU use', max: () => 100, text: (v) => v + '%' },
  load: { label: 'Load per CPU', max: () => 200, text: (v) => (v / 100).toFixed(2) + ' per CPU' },
  mem: { label: 'Memory', max: () => 100, text: (v) => v + '%' },
  net: { label: 'Network', max: (doc) => Math.max(1, ...sample(doc.values)), text: (v) => rate(v) },
};

// The network scale follows the busiest node; a sample keeps that cheap.
function sample(values) {
  const out = [];
  const step = Math.max(1, Math.floor(values.length / 2000));
  for (let i = 0; i < values.length; i += step) out.push(values[i]);
  return out;
}

function bucket(value, max) {
  if (value < 0) return -1;
  return Math.min(RAMP.length - 1, Math.floor((value / max) * RAMP.length));
}

// ---------- fetching ----------

async function getJson(url) {
  const response = await fetch(url, { cache: 'no-store' });
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const error = new Error((body && body.error) || response.status + ' ' + response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}

function showBanner(text) {
  const banner = $('banner');
  if (text) {
    if (banner.textContent !== text) banner.textContent = text;
    banner.hidden = false;
  } else {
    banner.hidden = true;
    banner.textContent = '';
  }
}

function stale(error) {
  const since = lastGood ? ' Showing what was read ' + age((Date.now() - lastGood) / 1000) + '.' : '';
  if (error.status === 503) {
    return 'The status files cannot be read (' + error.message + '): recvstats has stopped or its files were removed.' + since;
  }
  return 'The exporter does not answer (' + error.message + ').' + since;
}

function writerBanner(doc) {
  return doc.writer_running ? null
    : 'recvstats (pid ' + doc.writer_pid + ') is not running: nodes will go down as their last reports age.';
}

function schedule(delay) {
  clearTimeout(timer);
  timer = setTimeout(poll, delay);
}

async function poll() {
  const mine = generation;
  try {
    if (route.view === 'cluster') {
      const metric = $('metric').value;
      const idle = $('idle').value;
      const asked = performance.now();
      const doc = await getJson('api/cluster?metric=' + metric + '&idle=' + idle);
      if (mine !== generation) return;
      note(stats.fetchTimes, performance.now() - asked);
      lastGood = Date.now();
      showBanner(writerBanner(doc));
      renderCluster(doc);
      stats.updates++;
    } else {
      const doc = await getJson('api/node?node=' + route.node);
      if (mine !== generation) return;
      lastGood = Date.now();
      showBanner(doc.writer_running ? null
        : 'recvstats is not running: this node\'s data is no longer updated.');
      renderNode(doc);
      stats.nodeUpdates++;
    }
    $('status').textContent = 'Updated ' + new Date().toLocaleTimeString() + ', every ' + POLL_MS / 1000 + ' s';
  } catch (error) {
    if (mine !== generation) return;
    if (route.view === 'node' && error.status === 404) {
      showBanner(nodeLabel(route.node) + ' has never reported.');
    } else {
      showBanner(stale(error));
    }
    $('status').textContent = 'Not updated since ' + (lastGood ? new Date(lastGood).toLocaleTimeString() : 'the page opened');
  }
  // A hidden tab stops asking (each cluster read costs the exporter a
  // pass over every node); it asks at once when shown again.
  if (mine === generation && !document.hidden) schedule(POLL_MS);
}

// ---------- cluster view ----------

function layout(count, width) {
  // Cells as large as fit the width in at most ~70% of the window height,
  // 4 to 28 CSS pixels.
  const height = Math.max(200, window.innerHeight * 0.7);
  let cell = Math.floor(Math.sqrt((width * height) / Math.max(1, count)));
  cell = Math.max(4, Math.min(28, cell));
  const columns = Math.max(1, Math.floor(width / cell));
  return { cell, columns, rows: Math.ceil(count / columns) };
}

function renderCluster(doc) {
  const started = performance.now();
  cluster = doc;
  $('up-count').textContent = doc.up;
  $('down-count').textContent = doc.down;
  $('never-count').textContent = doc.never;
  $('cpus-up').textContent = doc.cpus_up;
  $('idle-cpus').textContent = doc.idle_cpus;
  $('idle-label').textContent = doc.idle_threshold >= 1 ? 'CPUs usable'
    : 'Idle CPUs (under ' + Math.round(doc.idle_threshold * 100) + '% busy)';
  $('master-state').textContent = doc.master ? (doc.master.state === 'U' ? 'up' : 'down') : 'not reported';
  drawMap();
  renderLegend(doc);
  renderDownList(doc);
  describeCursor();
  const now = performance.now();
  stats.lastRenderMs = now - started;
  note(stats.renderTimes, stats.lastRenderMs);
  stats.renders++;
  if (stats.firstRenderMs === null) stats.firstRenderMs = now;
}

function drawMap() {
  const doc = cluster;
  if (!doc) return;
  const canvas = $('map');
  const width = $('map-box').clientWidth || 300;
  const { cell, columns, rows } = layout(doc.node_count, width);
  const ratio = window.devicePixelRatio || 1;
  const cssHeight = Math.max(cell, rows * cell);
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(cssHeight * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(cssHeight * ratio);
    canvas.style.height = cssHeight + 'px';
  }
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, cssHeight);
  const metric = METRICS[doc.metric];
  const max = metric.max(doc);
  const gap = cell >= 8 ? 1 : 0;
  const size = cell - gap;
  // One fillStyle per colour: group the cells by bucket first.
  const groups = Array.from({ length: RAMP.length + 2 }, () => []);
  const { states, values } = doc;
  for (let i = 0; i < doc.node_count; i++) {
    const s = states.charCodeAt(i);
    const b = s === 85 /* U */ ? bucket(values[i], max) : s === 68 /* D */ ? RAMP.length : RAMP.length + 1;
    groups[b < 0 ? 0 : b].push(i);
  }
  for (let b = 0; b < groups.length; b++) {
    const cells = groups[b];
    if (!cells.length) continue;
    if (b === RAMP.length + 1) {
      // Never reported: hollow.
      g.strokeStyle = NEVER;
      g.lineWidth = 1;
      for (const i of cells) {
        g.strokeRect((i % columns) * cell + 0.5, Math.floor(i / columns) * cell + 0.5, size - 1, size - 1);
      }
      continue;
    }
    g.fillStyle = b === RAMP.length ? DOWN : RAMP[b];
    for (const i of cells) g.fillRect((i % columns) * cell, Math.floor(i / columns) * cell, size, size);
    if (b === RAMP.length && size >= 6) {
      // Down: a cross, so the state does not depend on telling colours apart.
      g.strokeStyle = '#ffffff';
      g.lineWidth = 1;
      g.beginPath();
      for (const i of cells) {
        const x = (i % columns) * cell;
        const y = Math.floor(i / columns) * cell;
        g.moveTo(x + 1.5, y + 1.5); g.lineTo(x + size - 1.5, y + size - 1.5);
        g.moveTo(x + size - 1.5, y + 1.5); g.lineTo(x + 1.5, y + size - 1.5);
      }
      g.stroke();
    }
  }
  if (document.activeElement === canvas && cursor < doc.node_count) {
    g.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue('--focus') || '#0b57d0';
    g.lineWidth = 2;
    g.strokeRect((cursor % columns) * cell + 1, Math.floor(cursor / columns) * cell + 1, cell - 2, cell - 2);
  }
  canvas.setAttribute('aria-label', 'Node map of ' + doc.node_count + ' node numbers coloured by '
    + metric.label + ': ' + doc.up + ' up, ' + doc.down + ' down, ' + doc.never + ' never reported');
}

function renderLegend(doc) {
  const metric = METRICS[doc.metric];
  const max = metric.max(doc);
  const legend = $('legend');
  const key = doc.metric + ':' + max;
  if (legend.dataset.key === key) return;
  legend.dataset.key = key;
  legend.replaceChildren();
  const add = (colour, text) => {
    const span = document.createElement('span');
    span.style.setProperty('--swatch', colour);
    span.textContent = text;
    legend.append(span);
  };
  for (let b = 0; b < RAMP.length; b += 3) {
    add(RAMP[b], metric.text(Math.round((b / RAMP.length) * max)) + '+');
  }
  add(DOWN, 'down (cross)');
  add('transparent', 'never reported (hollow)');
}

function renderDownList(doc) {
  const list = $('down-list');
  const down = [];
  for (let i = 0; i < doc.node_count && down.length < 500; i++) {
    if (doc.states.charCodeAt(i) === 68) down.push(i);
  }
  $('down-list-count').textContent = doc.down;
  const key = down.join(',');
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...down.map((n) => {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = '#/node/' + n;
    a.textContent = 'node ' + n;
    li.append(a);
    return li;
  }));
}

function cellText(i) {
  const doc = cluster;
  if (!doc || i < 0 || i >= doc.node_count) return '';
  const s = doc.states[i];
  if (s === '-') return 'Node ' + i + ': never reported';
  if (s === 'D') return 'Node ' + i + ': down';
  const v = doc.values[i];
  return 'Node ' + i + ': up, ' + METRICS[doc.metric].label + ' ' + (v < 0 ? 'no sample yet' : METRICS[doc.metric].text(v));
}

function describeCursor() {
  if (document.activeElement === $('map')) $('cursor').textContent = cellText(cursor);
}

function cellAt(event) {
  const doc = cluster;
  if (!doc) return -1;
  const canvas = $('map');
  const box = canvas.getBoundingClientRect();
  const { cell, columns } = layout(doc.node_count, $('map-box').clientWidth || 300);
  const column = Math.floor((event.clientX - box.left) / cell);
  const row = Math.floor((event.clientY - box.top) / cell);
  if (column < 0 || column >= columns) return -1;
  const i = row * columns + column;
  return i < doc.node_count ? i : -1;
}

function mapKeys(event) {
  const doc = cluster;
  if (!doc || !doc.node_count) return;
  const { columns } = layout(doc.node_count, $('map-box').clientWidth || 300);
  const moves = {
    ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns,
    PageUp: -columns * 10, PageDown: columns * 10,
  };
  if (event.key in moves) {
    cursor = Math.max(0, Math.min(doc.node_count - 1, cursor + moves[event.key]));
  } else if (event.key === 'Home') {
    cursor = 0;
  } else if (event.key === 'End') {
    cursor = doc.node_count - 1;
  } else if (event.key === 'Enter' || event.key === ' ') {
    location.hash = '#/node/' + cursor;
  } else {
    return;
  }
  event.preventDefault();
  drawMap();
  describeCursor();
}

// ---------- node view ----------

const MODE_ORDER = ['user', 'nice', 'system', 'iowait', 'irq', 'softirq', 'steal', 'idle'];
const MODE_INDEX = { user: 0, nice: 1, system: 2, idle: 3, iowait: 4, irq: 5, softirq: 6, steal: 7 };

function cells(row, values) {
  for (const v of values) {
    const td = document.createElement('td');
    if (v instanceof Node) td.append(v); else td.textContent = v;
    row.append(td);
  }
}

function bar(fraction) {
  const outer = document.createElement('span');
  outer.className = 'bar';
  outer.setAttribute('aria-hidden', 'true');
  const inner = document.createElement('i');
  inner.style.width = Math.max(0, Math.min(100, fraction * 100)) + '%';
  outer.append(inner);
  return outer;
}

function renderNode(doc) {
  const node = doc.beostat;
  const history = nodeHistory.node === node.node ? nodeHistory
    : (nodeHistory = { node: node.node, points: [], previous: null, rates: new Map() });
  const fresh = !history.previous || history.previous.time_ns !== doc.time_ns;
  if (fresh && history.previous) {
    const seconds = (doc.time_ns - history.previous.time_ns) / 1e9;
    if (seconds > 0) {
      const before = new Map(history.previous.beostat.net ? history.previous.beostat.net.interfaces.map((i) => [i.name, i]) : []);
      history.rates = new Map();
      for (const i of node.net ? node.net.interfaces : []) {
        const b = before.get(i.name);
        if (b && i.receive.bytes >= b.receive.bytes && i.transmit.bytes >= b.transmit.bytes) {
          history.rates.set(i.name, [(i.receive.bytes - b.receive.bytes) / seconds, (i.transmit.bytes - b.transmit.bytes) / seconds]);
        }
      }
    }
  }
  const busy = doc.cpus.length ? doc.cpus.reduce((s, c) => s + c.busy, 0) / doc.cpus.length : 0;
  const mem = node.meminfo ? node.meminfo.memory : null;
  if (fresh) {
    history.points.push({
      t: doc.time_ns / 1e6,
      cpu: busy,
      mem: mem && mem.total_bytes ? (mem.used_bytes - mem.buffers_bytes - mem.cached_bytes) / mem.total_bytes : 0,
      net: node.net ? node.net.rate_bytes_per_second : 0,
    });
    if (history.points.length > HISTORY_POINTS) history.points.shift();
    history.previous = doc;
  }

  document.title = 'beostat: ' + nodeLabel(node.node) + (node.name ? ' (' + node.name + ')' : '');
  $('node-title').textContent = (node.node === -1 ? 'Master' : 'Node ' + node.node) + (node.name ? ' — ' + node.name : '');
  $('node-name').textContent = node.name || '(none reported)';
  const state = $('node-state');
  state.textContent = node.state;
  state.className = node.state === 'down' ? 'state-down' : '';
  const ageSeconds = (doc.taken_ms - doc.time_ns / 1e6) / 1000;
  $('node-age').textContent = age(ageSeconds);
  $('node-age').dataset.seconds = String(Math.max(0, Math.round(ageSeconds)));
  $('node-cpus').textContent = node.cpuinfo ? node.cpuinfo.cpus + (node.cpuinfo.mhz ? ' at ' + Math.round(node.cpuinfo.mhz) + ' MHz' : '') : '–';
  $('node-load').textContent = node.loadavg
    ? [node.loadavg.load1, node.loadavg.load5, node.loadavg.load15].map((l) => l.toFixed(2)).join(', ') : '–';

  // CPUs: busy as the C API computes it, then every mode's share.
  const body = $('cpu-table').tBodies[0];
  const rows = doc.cpus.map((c, i) => {
    const tr = document.createElement('tr');
    tr.dataset.cpu = String(i);
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = 'cpu' + i;
    tr.append(th);
    const total = c.ticks.reduce((s, t) => s + t, 0);
    const share = (mode) => (total ? pct(c.ticks[MODE_INDEX[mode]] / total) : '–');
    cells(tr, [pct(c.busy), ...MODE_ORDER.map(share)]);
    tr.cells[1].className = 'busy';
    tr.cells[1].dataset.value = String(c.busy);
    const barCell = document.createElement('td');
    barCell.className = 'bar-col';
    barCell.append(bar(c.busy));
    tr.append(barCell);
    return tr;
  });
  body.replaceChildren(...rows);

  const put = (id, value, exact) => {
    const el = $(id);
    el.textContent = value;
    if (exact !== undefined) el.dataset.bytes = String(exact);
  };
  if (mem) {
    put('mem-total', bytes(mem.total_bytes), mem.total_bytes);
    put('mem-used', bytes(mem.used_bytes), mem.used_bytes);
    put('mem-free', bytes(mem.free_bytes), mem.free_bytes);
    put('mem-detail', 'buffers ' + bytes(mem.buffers_bytes) + ', cache ' + bytes(mem.cached_bytes)
      + ', available ' + bytes(doc.mem_available_bytes));
    const swap = node.meminfo.swap;
    put('swap-total', bytes(swap.total_bytes), swap.total_bytes);
    put('swap-used', bytes(swap.used_bytes), swap.used_bytes);
    put('swap-free', bytes(swap.free_bytes), swap.free_bytes);
  }
  if (node.disk) {
    put('disk-total', bytes(node.disk.size_bytes), node.disk.size_bytes);
    put('disk-used', bytes(node.disk.size_bytes - node.disk.free_bytes), node.disk.size_bytes - node.disk.free_bytes);
    put('disk-free', bytes(node.disk.free_bytes), node.disk.free_bytes);
    put('disk-detail', bytes(node.disk.avail_bytes) + ' available to users');
  } else {
    for (const id of ['disk-total', 'disk-used', 'disk-free']) put(id, '–');
    put('disk-detail', 'not reported');
  }

  const net = $('net-table').tBodies[0];
  net.replaceChildren(...(node.net ? node.net.interfaces : []).map((i) => {
    const tr = document.createElement('tr');
    tr.dataset.interface = i.name;
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = i.name;
    tr.append(th);
    const r = history.rates.get(i.name);
    cells(tr, [r ? rate(r[0]) : '–', r ? rate(r[1]) : '–', bytes(i.receive.bytes), bytes(i.transmit.bytes),
      String(i.receive.errs + i.transmit.errs)]);
    tr.cells[3].dataset.bytes = String(i.receive.bytes);
    tr.cells[4].dataset.bytes = String(i.transmit.bytes);
    return tr;
  }));

  drawHistory(history.points);
}

function drawHistory(points) {
  const canvas = $('history');
  const width = canvas.clientWidth || 300;
  const height = canvas.clientHeight || 128;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const netMax = Math.max(1, ...points.map((p) => p.net));
  const series = [['cpu', '#3b7dd8', 1], ['mem', '#e07b00', 1], ['net', '#2e9d4c', netMax]];
  for (const [key, colour, max] of series) {
    g.strokeStyle = colour;
    g.lineWidth = 2;
    g.beginPath();
    points.forEach((p, i) => {
      // The newest report at the right edge, older ones to its left.
      const x = width - 1 - (points.length - 1 - i) * (width / (HISTORY_POINTS - 1));
      const y = height - 2 - (Math.min(1, p[key] / max) * (height - 4));
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  }
  const last = points[points.length - 1];
  const text = last
    ? points.length + ' reports: CPU (blue) now ' + pct(last.cpu) + ', memory (orange) ' + pct(last.mem)
      + ', network (green) ' + rate(last.net) + ', scale up to ' + rate(netMax)
    : 'No reports yet.';
  $('history-text').textContent = text;
  canvas.setAttribute('aria-label', 'History: ' + text);
}

// ---------- routing ----------

function parseRoute() {
  const m = /^#\/node\/(-?\d+)$/.exec(location.hash);
  return m ? { view: 'node', node: Number(m[1]) } : { view: 'cluster', node: null };
}

function go() {
  route = parseRoute();
  generation++;
  $('cluster-view').hidden = route.view !== 'cluster';
  $('node-view').hidden = route.view !== 'node';
  showBanner(null);
  if (route.view === 'cluster') {
    document.title = 'beostat: cluster';
  } else {
    $('node-title').textContent = nodeLabel(route.node);
    $('node-title').focus();
  }
  schedule(0);
}

function start() {
  window.addEventListener('hashchange', go);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) clearTimeout(timer); else schedule(0);
  });
  window.addEventListener('resize', () => { if (route.view === 'cluster') drawMap(); });
  for (const id of ['metric', 'idle']) {
    $(id).addEventListener('change', () => { generation++; schedule(0); });
  }
  $('controls').addEventListener('submit', (event) => {
    event.preventDefault();
    const n = $('goto').value.trim();
    if (/^-?\d+$/.test(n)) location.hash = '#/node/' + n;
  });
  const map = $('map');
  map.addEventListener('keydown', mapKeys);
  map.addEventListener('focus', () => { drawMap(); describeCursor(); });
  map.addEventListener('blur', () => { drawMap(); $('cursor').textContent = ''; });
  map.addEventListener('mousemove', (event) => {
    const i = cellAt(event);
    map.title = i >= 0 ? cellText(i) : '';
  });
  map.addEventListener('click', (event) => {
    const i = cellAt(event);
    if (i >= 0) location.hash = '#/node/' + i;
  });
  go();
}

start();
