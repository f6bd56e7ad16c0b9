// Standalone GET SSE stream resumption with the official TypeScript SDK client.
//
// The server runs with SSE_MAX_CONNECTION_SECS=2, so it closes the GET stream
// every ~2 s (with a `retry:` hint) and the SDK reconnects with Last-Event-ID.
// While subscribed to demo://clock the server sends notifications/resources/updated
// about once a second; they must keep arriving across the drops.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startServer } from './server.mjs';

// Tunables; adjust here if the server's behaviour is specified differently.
const MAX_CONNECTION_SECS = 2;
const COLLECT_MS = 6_500;
const MIN_NOTIFICATIONS = 4;
// A server stderr line that shows a GET resumed with Last-Event-ID: the server
// logs every request with last_event_id="-" (none) or the header's value, e.g.
//   INFO request http.method=GET ... mcp.session="<id>" last_event_id="0-2" ...
// (text format; the JSON format's "last_event_id":"0-2" matches too).
const RESUMED_GET_LOG_RE = /\bGET\b.*last_event_id"?\s*[=:]\s*"?(?!-?["\s,}]|-$|null)[^"\s,}]+/;
const isResumedGetLine = (line, sessionId) =>
  RESUMED_GET_LOG_RE.test(line) && (!sessionId || line.includes(sessionId));
// eslint-disable-next-line no-control-regex
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

describe('TypeScript SDK client: GET stream resumption', () => {
  let server;
  let client;
  let transport;
  const gets = []; // { t, lastEventId, status } for every GET the SDK makes
  let t0;
  const now = () => (performance.now() - t0) / 1000;

  before(async () => {
    t0 = performance.now();
    server = await startServer({ env: { SSE_MAX_CONNECTION_SECS: String(MAX_CONNECTION_SECS) } });
    // Wrap fetch to see the GET requests (and their Last-Event-ID) the SDK sends.
    const recordingFetch = async (url, init) => {
      const method = (init?.method ?? 'GET').toUpperCase();
      if (method !== 'GET') return fetch(url, init);
      const headers = new Headers(init?.headers);
      const entry = { t: now(), lastEventId: headers.get('last-event-id'), status: undefined };
      gets.push(entry);
      const res = await fetch(url, init);
      entry.status = res.status;
      return res;
    };
    client = new Client({ name: 'mcp-hive-ts-resume-test', version: '0.0.0' });
    transport = new StreamableHTTPClientTransport(server.mcpUrl, {
      fetch: recordingFetch,
      reconnectionOptions: {
        initialReconnectionDelay: 200,
        maxReconnectionDelay: 1_000,
        reconnectionDelayGrowFactor: 1.5,
        maxRetries: 10,
      },
    });
    await client.connect(transport);
  });

  after(async () => {
    await transport?.terminateSession().catch(() => {});
    await client?.close().catch(() => {});
    await server?.stop();
  });

  test('resources/updated keeps arriving across server-side GET drops', async (t) => {
    const caps = client.getServerCapabilities();
    assert.ok(caps?.resources?.subscribe, `server declares resources.subscribe: ${JSON.stringify(caps)}`);

    const updates = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push({ t: now(), uri: n.params.uri });
    });
    const errors = [];
    const prevOnError = client.onerror;
    client.onerror = (err) => {
      errors.push({ t: now(), message: String(err?.message ?? err) });
      prevOnError?.(err);
    };

    const tSub = now();
    await client.subscribeResource({ uri: 'demo://clock' });
    await sleep(COLLECT_MS);
    await client.unsubscribeResource({ uri: 'demo://clock' });
    const tEnd = now();

    const rel = (t) => +(t - tSub).toFixed(2);
    const diag = JSON.stringify(
      {
        updates: updates.map((u) => rel(u.t)),
        gets: gets.map((g) => ({ ...g, t: rel(g.t) })),
        errors: errors.map((e) => ({ ...e, t: rel(e.t) })),
      },
      null,
      1,
    );
    t.diagnostic(`timeline (seconds after subscribe): ${diag.replace(/\s+/g, ' ')}`);

    assert.ok(updates.every((u) => u.uri === 'demo://clock'), `all updates are for demo://clock: ${diag}`);
    assert.ok(updates.length >= MIN_NOTIFICATIONS, `at least ${MIN_NOTIFICATIONS} updates: ${diag}`);
    assert.ok(
      updates.some((u) => u.t - tSub > 3),
      `updates still arrive more than 3 s after subscribing: ${diag}`,
    );

    // The first GET opened the stream; every later one is a reconnect after a drop.
    const okGets = gets.filter((g) => g.status === 200);
    assert.ok(okGets.length >= 3, `the server dropped the GET stream at least twice: ${diag}`);
    const reconnects = okGets.slice(1);
    for (const g of reconnects) {
      assert.ok(g.lastEventId, `reconnect GET at ${rel(g.t)}s carries Last-Event-ID: ${diag}`);
    }
    // After each reconnect (whose stream was open for a while) notifications flow again.
    for (const g of reconnects) {
      if (tEnd - g.t < 1.5) continue; // too close to the end to expect an update
      assert.ok(
        updates.some((u) => u.t > g.t),
        `an update arrives after the reconnect at ${rel(g.t)}s: ${diag}`,
      );
    }
  });

  test('server log shows a GET resumed with Last-Event-ID', () => {
    const log = stripAnsi(server.stderr());
    const sessionId = transport.sessionId;
    const resumed = log.split('\n').filter((line) => isResumedGetLine(line, sessionId));
    assert.ok(
      resumed.length >= 1,
      `server stderr has a GET line for session ${sessionId} matching ${RESUMED_GET_LOG_RE} ` +
        `(last 3000 chars):\n${log.slice(-3000)}`,
    );
  });
});
