#!/usr/bin/env node
// Trivial WebSocket server that measures the load generator's own ceiling (bench/run.py --ceiling).
//
// Contract: `node echo_server.js --port N [--reply TEXT]` listens on 127.0.0.1:N; GET /health
// answers 200 {"status":"healthy"}; on /ws every text message is answered with the same
// pre-encoded reply (default: an observation frame the size of the line env's step reply), with
// permessage-deflate off. A {"type":"close"} message is answered by nothing (the client closes).
// Nothing is parsed, so the server costs as little as `ws` allows. Stops on SIGTERM/SIGINT.
'use strict';

const http = require('http');
const WebSocket = require('ws');

const DEFAULT_REPLY =
  '{"type":"observation","data":{"observation":{"metadata":{},"position":1,"text":""},' +
  '"reward":0.0,"done":false}}';
const CLOSE_PREFIX = Buffer.from('{"type":"close"');

function fail(message) {
  process.stderr.write(`echo_server: ${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
let port = null;
let reply = DEFAULT_REPLY;
for (let i = 0; i < args.length; i += 2) {
  if (args[i] === '--port') port = Number(args[i + 1]);
  else if (args[i] === '--reply') reply = args[i + 1] ?? fail('--reply needs a value');
  else fail(`unknown argument ${JSON.stringify(args[i])}`);
}
if (!Number.isInteger(port) || port < 1 || port > 65535) fail('--port 1..65535 is required');
const replyBuf = Buffer.from(reply);

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"healthy"}');
  } else {
    res.writeHead(404);
    res.end();
  }
});
const wss = new WebSocket.Server({ server, path: '/ws', perMessageDeflate: false, maxPayload: 1 << 20 });
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    if (data.length >= CLOSE_PREFIX.length && data.compare(CLOSE_PREFIX, 0, CLOSE_PREFIX.length, 0, CLOSE_PREFIX.length) === 0) return;
    ws.send(replyBuf, { binary: false, compress: false });
  });
  ws.on('error', () => ws.terminate());
});
server.listen(port, '127.0.0.1');
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
