// Rolling restarts under load, on loopback: a real redis-server, three `mcp-hive serve`
// replicas and nginx (Debian package) doing plain round-robin in front of them, and the
// official TypeScript SDK client keeping one session busy through the balancer:
//   - `count` calls (12 steps, 150 ms apart) with progress and log notifications, one after
//     the other;
//   - `add` calls every 50 ms, checked for the right answer;
//   - the GET stream subscribed to demo://clock (notifications/resources/updated each second).
// Meanwhile every replica is restarted once with SIGTERM (one at a time, each back before the
// next goes), then the replica running a request is killed with SIGKILL and restarted.
//
// Pass criteria (any miss exits 1):
//   - no tool call fails from the client's point of view and every answer is right;
//   - every `count` call got progress 1..12 exactly once in order and 12 log messages;
//   - on the wire (a tap on the SDK's fetch), every SSE stream's event ids are consecutive
//     across all its connections: no event lost on a resume, none delivered twice;
//   - every SIGTERM'd replica exits 0 within its drain budget;
//   - the GET stream carries clock updates again after every restart;
//   - after the SIGKILL of a replica that was running a request, a surviving replica logged
//     the takeover of its stream.
//
// Usage: node tests/clients/cluster/rolling-restart.mjs   (after `cargo build`)
//   MCP_HIVE_BIN   default target/debug/mcp-hive
//   NGINX_BIN      default nginx on PATH, else /usr/sbin/nginx
//   KEEP_LOGS=1    keep the temporary directory with every process's logs
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = process.env.MCP_HIVE_BIN ?? join(ROOT, 'target/debug/mcp-hive');
const COUNT_STEPS = 12;
const DRAIN_BUDGET_SECS = 10;
const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`, ...a);
const failures = [];
const fail = (msg) => {
  failures.push(msg);
  log(`FAIL: ${msg}`);
};

function nginxBin() {
  if (process.env.NGINX_BIN) return process.env.NGINX_BIN;
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  return 'nginx';
}

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'mcp-hive-rolling-'));
const children = new Set();
function start(name, cmd, args, env = {}) {
  const out = openSync(join(dir, `${name}.log`), 'a');
  const child = spawn(cmd, args, {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', out, out],
  });
  child.exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  children.add(child);
  child.exited.then(() => children.delete(child));
  return child;
}
function cleanup() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', cleanup);

async function waitFor(what, probe, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function readyz(port) {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
  return { status: res.status, body: await res.json() };
}

// ---------------------------------------------------------------- the cluster
const redisPort = await freePort();
const redis = start('redis', 'redis-server', [
  '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
  '--dir', dir,
]);
await waitFor('redis', async () => {
  execFileSync('redis-cli', ['-p', String(redisPort), 'ping'], { stdio: 'ignore' });
  return true;
});

const stateKey = randomBytes(32).toString('base64');
const replicas = [];
for (let i = 0; i < 3; i++) replicas.push({ name: `replica-${i}`, port: await freePort() });
function startReplica(r) {
  r.proc = start(r.name, BIN, ['serve'], {
    HOST: '127.0.0.1',
    PORT: String(r.port),
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    MCP_STATE_KEY: stateKey,
    DISABLE_AUTH: 'true',
    LOG_LEVEL: 'info',
    MCP_HIVE__SERVER__SHUTDOWN_TIMEOUT_SECS: String(DRAIN_BUDGET_SECS),
  });
  return waitFor(`${r.name} ready`, async () => (await readyz(r.port)).status === 200);
}
await Promise.all(replicas.map(startReplica));

const lbPort = await freePort();
const asRoot = process.getuid?.() === 0;
writeFileSync(
  join(dir, 'nginx.conf'),
  `${asRoot ? 'user root;\n' : ''}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log ${dir}/nginx-access.log;
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  upstream mcp {
    # Plain round-robin: no ip_hash, no sticky cookie.
${replicas.map((r) => `    server 127.0.0.1:${r.port} max_fails=1 fail_timeout=2s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${lbPort};
    location / {
      proxy_pass http://mcp;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_cache off;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      proxy_connect_timeout 2s;
      # As deploy/nginx/nginx.conf: a request that got no byte of a response (connection
      # refused, or the replica killed before the response head) goes to another replica, POSTs
      # included; SSE answers send their head as soon as the request is accepted.
      proxy_next_upstream error timeout non_idempotent;
    }
  }
}
`,
);
const nginx = start('nginx', nginxBin(), ['-e', join(dir, 'nginx-error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')]);
const LB = `http://127.0.0.1:${lbPort}`;
await waitFor('nginx', async () => (await fetch(`${LB}/healthz`)).ok);
log(`redis :${redisPort}, replicas ${replicas.map((r) => `:${r.port}`).join(' ')}, nginx ${LB}`);

// ------------------------------------------------------- the wire-level tap
// Every SSE response the SDK reads is also parsed here: events per stream, by sequence number.
const streams = new Map(); // stream id -> array of seq numbers of data events, in arrival order
function observe(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let id;
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('id:')) id = line.slice(3).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (!id || !data) continue;
          const dash = id.lastIndexOf('-');
          const stream = id.slice(0, dash);
          const seq = Number(id.slice(dash + 1));
          if (!streams.has(stream)) streams.set(stream, []);
          streams.get(stream).push(seq);
        }
      }
    } catch {
      // the connection broke: the SDK resumes, and so do we
    }
  })();
}
const tapFetch = async (url, init) => {
  const res = await fetch(url, init);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/event-stream') || !res.body) return res;
  const [mine, theirs] = res.body.tee();
  observe(mine);
  return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
};

// ------------------------------------------------------------- the client
const client = new Client({ name: 'mcp-hive-rolling-restart', version: '0.0.0' });
const transport = new StreamableHTTPClientTransport(new URL(`${LB}/mcp`), {
  fetch: tapFetch,
  reconnectionOptions: {
    initialReconnectionDelay: 200,
    maxReconnectionDelay: 2_000,
    reconnectionDelayGrowFactor: 1.5,
    maxRetries: 30,
  },
});
let transportErrors = 0;
transport.onerror = () => {
  transportErrors += 1; // disconnects the SDK recovers from; tool-call failures are counted below
};
let logMessages = 0;
const clockUpdates = [];
client.setNotificationHandler(LoggingMessageNotificationSchema, () => {
  logMessages += 1;
});
client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => {
  clockUpdates.push(Date.now());
});
await client.connect(transport);
await client.subscribeResource({ uri: 'demo://clock' });
log(`session ${transport.sessionId}`);

let running = true;
const stats = { count: 0, add: 0, callFailures: 0 };
// How far the running `count` call has got (0 between calls): the SIGKILL below waits for a
// call that is mid-way, so the kill cannot land after its result is already stored.
let countProgress = 0;
async function countLoop() {
  while (running) {
    const progress = [];
    countProgress = 0;
    try {
      const r = await client.callTool(
        { name: 'count', arguments: { number: COUNT_STEPS, intervalMs: 150 } },
        undefined,
        {
          onprogress: (p) => {
            progress.push(p.progress);
            countProgress = p.progress;
          },
          timeout: 60_000,
        },
      );
      const text = r.content?.[0]?.text;
      if (text !== `Counted to ${COUNT_STEPS}`) fail(`count answered ${JSON.stringify(r)}`);
      const expected = Array.from({ length: COUNT_STEPS }, (_, i) => i + 1);
      if (JSON.stringify(progress) !== JSON.stringify(expected)) {
        fail(`count call ${stats.count + 1}: progress ${JSON.stringify(progress)}`);
      }
      stats.count += 1;
    } catch (e) {
      stats.callFailures += 1;
      fail(`count call failed: ${e?.message ?? e}`);
    }
  }
}
async function addLoop() {
  let i = 0;
  while (running) {
    i += 1;
    try {
      const r = await client.callTool({ name: 'add', arguments: { a: i, b: 1000 } }, undefined, { timeout: 60_000 });
      const got = r.structuredContent?.result;
      if (got !== i + 1000) fail(`add(${i}, 1000) answered ${JSON.stringify(r)}`);
      stats.add += 1;
    } catch (e) {
      stats.callFailures += 1;
      fail(`add call failed: ${e?.message ?? e}`);
    }
    await sleep(50);
  }
}
const loops = [countLoop(), addLoop()];

// ------------------------------------------------------------ the restarts
function updatesSince(t) {
  return clockUpdates.filter((u) => u >= t).length;
}
async function settle(label, ms) {
  const from = Date.now();
  await sleep(ms);
  // The GET stream must carry clock updates again (about one a second).
  const got = updatesSince(from + 1_500);
  if (got < 1) fail(`${label}: no clock update on the GET stream in the ${ms - 1_500} ms after reconnecting`);
  log(`${label}: ${stats.count} count + ${stats.add} add calls so far, ${updatesSince(from)} clock updates in ${ms} ms`);
}

await settle('warm-up', 3_000);
for (const r of replicas) {
  const before = Date.now();
  r.proc.kill('SIGTERM');
  const { code, signal } = await r.proc.exited;
  const took = (Date.now() - before) / 1000;
  if (code !== 0) fail(`${r.name} exited with ${code ?? signal} after SIGTERM`);
  if (took > DRAIN_BUDGET_SECS + 2) fail(`${r.name} took ${took}s to drain (budget ${DRAIN_BUDGET_SECS}s)`);
  log(`${r.name}: SIGTERM, exited ${code} after ${took.toFixed(1)}s; restarting`);
  await startReplica(r);
  await settle(`after restarting ${r.name}`, 4_500);
}

// SIGKILL the replica that is running the `count` call, while that call is mid-way (at least
// four of its 150 ms steps still to go). The replica must report a request in flight on two
// polls 100 ms apart: an `add` call lasts a few milliseconds, so only the `count` call's
// replica passes both.
const midway = () => countProgress >= 2 && countProgress <= COUNT_STEPS - 4;
const inFlight = async (r) => {
  const { body } = await readyz(r.port).catch(() => ({ body: {} }));
  return (body.in_flight_requests ?? 0) > 0;
};
let victim;
const hunt = Date.now() + 20_000;
while (!victim && Date.now() < hunt) {
  if (midway()) {
    for (const r of replicas) {
      if (!(await inFlight(r))) continue;
      await sleep(100);
      if (midway() && (await inFlight(r))) {
        victim = r;
        break;
      }
    }
  }
  if (!victim) await sleep(20);
}
if (!victim) fail('no replica was running a request to kill');
victim ??= replicas[0];
const takeoversBefore = takeoverLines();
victim.proc.kill('SIGKILL');
await victim.proc.exited;
log(`${victim.name}: SIGKILL while running a request; restarting`);
await startReplica(victim);
await settle(`after killing ${victim.name}`, 7_000);

running = false;
await Promise.all(loops);
await sleep(500);

function takeoverLines() {
  return replicas
    .map((r) => readFileSync(join(dir, `${r.name}.log`), 'utf8'))
    .join('\n')
    .split('\n')
    .filter((l) => l.includes('took over a stream')).length;
}

// --------------------------------------------------------------- verdicts
if (stats.count < 5) fail(`only ${stats.count} count calls completed`);
if (stats.add < 100) fail(`only ${stats.add} add calls completed`);
if (logMessages !== stats.count * COUNT_STEPS) {
  fail(`${logMessages} log messages for ${stats.count} count calls (expected ${stats.count * COUNT_STEPS})`);
}
let events = 0;
for (const [stream, seqs] of streams) {
  events += seqs.length;
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] !== seqs[i - 1] + 1) {
      fail(`stream ${stream}: event ${seqs[i - 1]} followed by ${seqs[i]} (${seqs[i] <= seqs[i - 1] ? 'duplicate' : 'gap'})`);
      break;
    }
  }
}
const takeovers = takeoverLines() - takeoversBefore;
if (victim && takeovers < 1) fail(`${victim.name} was killed mid-request but no replica took its stream over`);

log(
  `done: ${stats.count} count calls, ${stats.add} add calls, ${stats.callFailures} failed; ` +
    `${events} SSE events on ${streams.size} streams checked; ${logMessages} log messages; ` +
    `${clockUpdates.length} clock updates; ${takeovers} stream takeover(s); ` +
    `${transportErrors} transport disconnects recovered`,
);
await client.close().catch(() => {});
nginx.kill('SIGTERM');
for (const r of replicas) r.proc.kill('SIGTERM');
await Promise.all(replicas.map((r) => r.proc.exited));
redis.kill('SIGTERM');
await Promise.all([nginx.exited, redis.exited]);
if (failures.length) {
  console.error(`\nrolling restart FAILED (${failures.length}); logs kept in ${dir}:`);
  for (const f of failures) console.error(`  - ${f}`);
  process.exit(1);
}
if (process.env.KEEP_LOGS === '1') log(`logs kept in ${dir}`);
else rmSync(dir, { recursive: true, force: true });
log('rolling restart passed');
