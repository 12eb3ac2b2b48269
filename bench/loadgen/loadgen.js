#!/usr/bin/env node
// Lean closed-loop WebSocket load generator for bench/run.py (Node.js + the `ws` package).
//
// Contract:
//   node loadgen.js steps --url WS_URL [--connections N] [--warmup S] [--duration S]
//        [--reset-frame TEXT] [--frame TEXT ...] [--expect-prefix TEXT] [--server-pid PID]
//   node loadgen.js connect_reset --url WS_URL [--count K] [--warmup-count W] [--client raw|ws]
//        [--reset-frame TEXT] [--expect-prefix TEXT] [--server-pid PID]
//
// `steps`: opens N connections (at most 256 handshakes in flight), sends the reset frame on each
// and waits for its reply, then every connection runs a closed loop (send the next request frame,
// wait for the reply, send again) cycling through the --frame list. After --warmup seconds the
// measured window of exactly --duration seconds starts; replies received inside it are counted
// and their round-trip latencies (send -> reply, process.hrtime.bigint) kept. Requests in flight
// when the window ends are drained, then each connection sends {"type":"close"} and closes.
// `connect_reset`: K sequential times (after W unmeasured warm-up rounds): open a new connection,
// send the reset frame, wait for the reply (latency = connect start -> reply), send the close
// frame, close and wait for the close handshake to finish. `--client raw` (default) speaks the
// handshake on a bare TCP socket (a pre-built upgrade request, pre-encoded masked frames, parsing
// only the status line, the end of the headers and the first frame's header + prefix): about half
// the client CPU of `--client ws`, which uses the `ws` package like `steps` does.
//
// Frames are encoded once up front; permessage-deflate is off; replies are not parsed: each must
// start with --expect-prefix (default {"type":"observation"), otherwise the run fails. With
// --server-pid the server's utime+stime ticks (/proc/PID/stat) are read at the exact start and end
// of the measured window. Output: one JSON line on stdout (ops, wall_s, ops_s, p50_ms, p99_ms,
// server_cpu_ticks, client_cpu_s, ...). Any failure: a message on stderr and exit status 1.
// Every count, duration and wait is bounded (each reply must arrive within --timeout seconds).
'use strict';

const fs = require('fs');
const net = require('net');
const WebSocket = require('ws');

const LIMITS = {
  connections: [1, 10000],
  warmup: [0, 60],
  duration: [0.05, 600],
  count: [1, 100000],
  'warmup-count': [0, 10000],
  timeout: [0.1, 300],
  'server-pid': [1, 2 ** 31 - 1],
};
const CLIENTS = ['raw', 'ws'];
const DEFAULTS = {
  connections: 64,
  warmup: 1,
  duration: 5,
  count: 200,
  'warmup-count': 10,
  timeout: 30,
  'reset-frame': '{"type":"reset"}',
  'expect-prefix': '{"type":"observation"',
  client: 'raw',
};
const MAX_OPENING = 256;
const CLOSE_FRAME = Buffer.from('{"type":"close"}');
const TEXT = { binary: false, compress: false };
const WS_OPTIONS = {
  perMessageDeflate: false,
  skipUTF8Validation: true,
  // A fixed all-zero masking key: legal for a client, and it saves a random draw per frame.
  generateMask: () => {},
  maxPayload: 1 << 20,
};

function fail(message) {
  process.stderr.write(`loadgen: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const mode = argv[0];
  if (mode !== 'steps' && mode !== 'connect_reset') {
    fail(`first argument must be "steps" or "connect_reset", got ${JSON.stringify(mode)}`);
  }
  const opts = { ...DEFAULTS, frame: [] };
  for (let i = 1; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (!key.startsWith('--') || value === undefined) fail(`bad argument near ${JSON.stringify(key)}`);
    const name = key.slice(2);
    if (name === 'frame') opts.frame.push(value);
    else if (name in LIMITS) {
      const n = Number(value);
      const [lo, hi] = LIMITS[name];
      if (!Number.isFinite(n) || n < lo || n > hi) fail(`--${name} must be a number in ${lo}..${hi}`);
      opts[name] = n;
    } else if (['url', 'reset-frame', 'expect-prefix', 'client'].includes(name)) opts[name] = value;
    else fail(`unknown option --${name}`);
  }
  if (!opts.url || !/^ws:\/\//.test(opts.url)) fail('--url ws://HOST:PORT/PATH is required');
  if (!CLIENTS.includes(opts.client)) fail(`--client must be one of ${CLIENTS.join(', ')}`);
  for (const name of ['connections', 'count', 'warmup-count']) {
    if (!Number.isInteger(opts[name])) fail(`--${name} must be an integer`);
  }
  if (opts.frame.length === 0) {
    opts.frame = ['{"type":"step","data":{"direction":"right","amount":1}}',
      '{"type":"step","data":{"direction":"left","amount":1}}'];
  }
  opts.mode = mode;
  return opts;
}

function serverTicks(pid) {
  if (!pid) return null;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15)
}

function percentiles(samplesNs) {
  if (samplesNs.length === 0) fail('no samples');
  const sorted = Float64Array.from(samplesNs).sort();
  const rank = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * sorted.length) - 1))];
  return { p50_ms: rank(0.5) / 1e6, p90_ms: rank(0.9) / 1e6, p99_ms: rank(0.99) / 1e6, max_ms: sorted[sorted.length - 1] / 1e6 };
}

function makeChecker(prefix) {
  const want = Buffer.from(prefix);
  return (data) => {
    const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
    if (buf.length < want.length || buf.compare(want, 0, want.length, 0, want.length) !== 0) {
      fail(`unexpected reply: ${buf.subarray(0, 300).toString()}`);
    }
  };
}

class Window {
  constructor(pid) {
    this.pid = pid;
  }

  begin() {
    this.ticks0 = serverTicks(this.pid);
    this.cpu0 = process.cpuUsage();
    this.t0 = process.hrtime.bigint();
  }

  end() {
    this.t1 = process.hrtime.bigint();
    this.ticks1 = serverTicks(this.pid);
    this.cpu1 = process.cpuUsage(this.cpu0);
  }

  stats(ops) {
    const wall = Number(this.t1 - this.t0) / 1e9;
    const clientCpu = (this.cpu1.user + this.cpu1.system) / 1e6;
    return {
      ops,
      wall_s: wall,
      ops_s: ops / wall,
      server_cpu_ticks: this.pid ? this.ticks1 - this.ticks0 : null,
      client_cpu_s: clientCpu,
      client_cpu_pct: (100 * clientCpu) / wall,
    };
  }
}

function stallGuard(timeoutS, pending) {
  const limit = BigInt(Math.round(timeoutS * 1e9));
  const timer = setInterval(() => {
    const now = process.hrtime.bigint();
    for (const since of pending()) {
      if (since !== 0n && now - since > limit) fail(`no reply within ${timeoutS} s`);
    }
  }, 250);
  timer.unref();
  return timer;
}

function runSteps(opts) {
  const frames = opts.frame.map((f) => Buffer.from(f));
  const resetFrame = Buffer.from(opts['reset-frame']);
  const check = makeChecker(opts['expect-prefix']);
  const n = opts.connections;
  const conns = new Array(n);
  const sentAt = new Array(n).fill(0n);
  const seq = new Array(n).fill(0);
  const perConn = new Array(n).fill(0);
  const samples = [];
  const win = new Window(opts['server-pid']);
  let phase = 'opening'; // opening -> warmup -> measure -> drain -> closing
  let ready = 0;
  let inFlight = 0;
  let opened = 0;
  let closed = 0;
  let ops = 0;
  const tOpen = process.hrtime.bigint();
  stallGuard(opts.timeout, () => sentAt);

  function send(i) {
    const k = seq[i]++;
    sentAt[i] = process.hrtime.bigint();
    inFlight++;
    conns[i].send(frames[k % frames.length], TEXT);
  }

  function onReply(i, data) {
    const now = process.hrtime.bigint();
    if (phase === 'closing') return; // whatever the server says after our close frame
    check(data);
    inFlight--;
    if (phase === 'opening') {
      sentAt[i] = 0n;
      if (++ready === n) startLoop();
      return;
    }
    if (phase === 'measure') {
      samples.push(Number(now - sentAt[i]));
      perConn[i]++;
      ops++;
    }
    sentAt[i] = 0n;
    if (phase === 'warmup' || phase === 'measure') send(i);
    else if (phase === 'drain' && inFlight === 0) closeAll();
  }

  function startLoop() {
    const openAllS = Number(process.hrtime.bigint() - tOpen) / 1e9;
    phase = 'warmup';
    win.openAllS = openAllS;
    for (let i = 0; i < n; i++) send(i);
    setTimeout(() => {
      win.begin();
      phase = 'measure';
      setTimeout(() => {
        win.end();
        phase = 'drain';
        if (inFlight === 0) closeAll();
      }, opts.duration * 1000);
    }, opts.warmup * 1000);
  }

  function closeAll() {
    phase = 'closing';
    const guard = setTimeout(() => fail('connections did not close within 10 s'), 10000);
    guard.unref();
    for (const ws of conns) {
      ws.send(CLOSE_FRAME, TEXT);
      ws.close(1000);
    }
  }

  function onClose(i) {
    closed++;
    if (phase !== 'closing') fail(`connection ${i} closed by the server during ${phase}`);
    if (closed === n) {
      if (ops === 0) fail('no step completed in the measured window');
      const result = {
        mode: 'steps',
        sessions: n,
        ...win.stats(ops),
        ...percentiles(samples),
        open_all_s: win.openAllS,
        per_session_min: Math.min(...perConn),
        per_session_max: Math.max(...perConn),
        warmup_s: opts.warmup,
      };
      process.stdout.write(JSON.stringify(result) + '\n');
      process.exit(0);
    }
  }

  function open(i) {
    const ws = new WebSocket(opts.url, WS_OPTIONS);
    conns[i] = ws;
    sentAt[i] = process.hrtime.bigint(); // the handshake counts against the stall guard
    ws.on('open', () => {
      sentAt[i] = process.hrtime.bigint();
      inFlight++;
      ws.send(resetFrame, TEXT);
      if (opened < n) open(opened++);
    });
    ws.on('message', (data) => onReply(i, data));
    ws.on('close', () => onClose(i));
    ws.on('error', (err) => fail(`connection ${i}: ${err.message}`));
  }

  for (; opened < Math.min(n, MAX_OPENING);) open(opened++);
}

function runConnectReset(opts) {
  const resetFrame = Buffer.from(opts['reset-frame']);
  const check = makeChecker(opts['expect-prefix']);
  const warm = opts['warmup-count'];
  const total = warm + opts.count;
  const samples = [];
  const win = new Window(opts['server-pid']);
  let round = 0;
  let started = 0n;
  stallGuard(opts.timeout, () => [started]);

  function next() {
    if (round === warm) win.begin();
    if (round === total) {
      win.end();
      const result = {
        mode: 'connect_reset',
        client: 'ws',
        ...win.stats(opts.count),
        ...percentiles(samples),
        warmup_count: warm,
      };
      process.stdout.write(JSON.stringify(result) + '\n');
      process.exit(0);
    }
    const measured = round >= warm;
    round++;
    const t0 = process.hrtime.bigint();
    started = t0;
    const ws = new WebSocket(opts.url, WS_OPTIONS);
    let replied = false;
    ws.on('open', () => ws.send(resetFrame, TEXT));
    ws.on('message', (data) => {
      const now = process.hrtime.bigint();
      if (replied) return; // after our close frame
      replied = true;
      check(data);
      if (measured) samples.push(Number(now - t0));
      ws.send(CLOSE_FRAME, TEXT);
      ws.close(1000);
    });
    ws.on('close', () => {
      started = 0n;
      if (!replied) fail('connection closed before the reset reply');
      setImmediate(next);
    });
    ws.on('error', (err) => fail(`connect_reset round ${round}: ${err.message}`));
  }

  next();
}

// A client frame (FIN, masked with the all-zero key, so the payload goes out as is).
function maskedFrame(opcode, payload) {
  const len = payload.length;
  if (len > 0xffff) fail('frame too large');
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

// connect_reset on a bare TCP socket: a pre-built upgrade request, pre-encoded frames, and just
// enough parsing to find the 101 status line, the end of the headers and the first frame.
function runConnectResetRaw(opts) {
  const url = new URL(opts.url);
  const port = Number(url.port || 80);
  const request = Buffer.from(
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
      'Sec-WebSocket-Version: 13\r\n\r\n',
  );
  const resetFrame = maskedFrame(0x1, Buffer.from(opts['reset-frame']));
  const goodbye = Buffer.concat([maskedFrame(0x1, CLOSE_FRAME), maskedFrame(0x8, Buffer.from([0x03, 0xe8]))]);
  const prefix = Buffer.from(opts['expect-prefix']);
  const headEnd = Buffer.from('\r\n\r\n');
  const warm = opts['warmup-count'];
  const total = warm + opts.count;
  const samples = [];
  const win = new Window(opts['server-pid']);
  let round = 0;
  let started = 0n;
  stallGuard(opts.timeout, () => [started]);

  function next() {
    if (round === warm) win.begin();
    if (round === total) {
      win.end();
      const result = {
        mode: 'connect_reset',
        client: 'raw',
        ...win.stats(opts.count),
        ...percentiles(samples),
        warmup_count: warm,
      };
      process.stdout.write(JSON.stringify(result) + '\n');
      process.exit(0);
    }
    const measured = round >= warm;
    round++;
    const t0 = process.hrtime.bigint();
    started = t0;
    let buf = Buffer.alloc(0);
    let state = 'handshake'; // handshake -> reply -> closing
    const sock = net.connect({ host: url.hostname, port, noDelay: true }, () => sock.write(request));
    sock.on('data', (chunk) => {
      if (state === 'closing') return;
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (state === 'handshake') {
        const end = buf.indexOf(headEnd);
        if (end < 0) return;
        if (buf.toString('latin1', 0, 13) !== 'HTTP/1.1 101 ') fail(`handshake refused: ${buf.toString('latin1', 0, 200)}`);
        buf = buf.subarray(end + 4);
        state = 'reply';
        sock.write(resetFrame);
      }
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) fail('reply frame too large');
      if (buf.length < off + Math.min(len, prefix.length)) return;
      const now = process.hrtime.bigint();
      if ((buf[0] & 0x0f) !== 0x1 || buf.compare(prefix, 0, prefix.length, off, off + prefix.length) !== 0) {
        fail(`unexpected reply: ${buf.subarray(0, 300).toString()}`);
      }
      if (measured) samples.push(Number(now - t0));
      state = 'closing';
      sock.end(goodbye);
    });
    sock.on('close', () => {
      started = 0n;
      if (state !== 'closing') fail(`connection closed during ${state}`);
      setImmediate(next);
    });
    sock.on('error', (err) => fail(`connect_reset round ${round}: ${err.message}`));
  }

  next();
}

const opts = parseArgs(process.argv.slice(2));
if (opts.mode === 'steps') runSteps(opts);
else if (opts.client === 'raw') runConnectResetRaw(opts);
else runConnectReset(opts);
