// The official MCP TypeScript SDK's SSEClientTransport (the HTTP+SSE transport of MCP
// 2024-11-05) against mcp-hive's GET /sse + POST /messages: initialize, tools, progress and log
// notifications, sampling and elicitation requests answered by the client, the session ending
// with the SSE connection, and the raw endpoint event and error statuses.
// Run: node --test tests/clients/ts/sse-transport.test.mjs   (Node >= 22)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { startServer } from './server.mjs';

function textOf(result) {
  return (result.content ?? [])
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

/** Opens GET /sse by hand and returns the first event's name and data, then aborts it. */
async function firstEvent(url) {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  while (!buf.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
  }
  controller.abort();
  const block = buf.slice(0, buf.indexOf('\n\n'));
  const field = (name) =>
    block
      .split('\n')
      .find((l) => l.startsWith(`${name}:`))
      ?.slice(name.length + 1)
      .trim();
  return { event: field('event'), data: field('data') };
}

async function postJson(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

describe('TypeScript SDK SSEClientTransport (HTTP+SSE, 2024-11-05)', () => {
  let server;
  let client;
  let transport;
  const logs = [];

  before(async () => {
    server = await startServer({ env: { MCP_CONFORMANCE_FIXTURES: 'true' } });
    client = new Client(
      { name: 'mcp-hive-sse-test', version: '0.0.0' },
      { capabilities: { sampling: {}, elicitation: {} } },
    );
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
      role: 'assistant',
      model: 'test-model',
      content: { type: 'text', text: `echo: ${req.params.messages[0].content.text}` },
    }));
    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: 'accept',
      content: { username: 'ada', email: 'ada@example.com' },
    }));
    transport = new SSEClientTransport(new URL('/sse', server.baseUrl));
    await client.connect(transport);
  });

  after(async () => {
    await client?.close().catch(() => {});
    await server?.stop();
  });

  test('initialize over the legacy transport', () => {
    const info = client.getServerVersion();
    assert.equal(info?.name, 'mcp-hive');
    assert.ok(client.getServerCapabilities()?.tools, 'tools capability');
  });

  test('tools/list and tools/call', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    for (const name of ['add', 'count', 'test_sampling', 'test_elicitation']) {
      assert.ok(names.includes(name), `${name} listed`);
    }
    const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
    assert.match(textOf(sum), /\b42\b/);
  });

  test('progress and log notifications arrive on the SSE stream', async () => {
    const progress = [];
    const before = logs.length;
    const result = await client.callTool(
      { name: 'count', arguments: { number: 3, intervalMs: 10 } },
      undefined,
      { onprogress: (p) => progress.push(p.progress), timeout: 30_000 },
    );
    assert.match(textOf(result), /Counted to 3/);
    // The server writes progress 1..3 before the result, in order. The SDK runs notification
    // handlers in a microtask but response handlers at once, and the EventSource dispatches
    // every event of a network chunk in one go: when the last progress event and the result
    // share a chunk, the result removes the progress callback first. So: a prefix of 1..3.
    assert.ok(progress.length >= 1, 'progress arrived');
    assert.deepEqual(progress, [1, 2, 3].slice(0, progress.length));
    // Log handlers stay registered: every log message is seen.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(logs.length - before, 3, `log messages: ${JSON.stringify(logs.slice(before))}`);
  });

  test('sampling and elicitation are answered by the client', async () => {
    const sampled = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'hi' } });
    assert.equal(textOf(sampled), 'LLM response: echo: hi');
    const elicited = await client.callTool({ name: 'test_elicitation', arguments: { message: 'Who?' } });
    assert.match(textOf(elicited), /ada/);
  });

  test('the endpoint event and the error statuses of POST /messages', async () => {
    const first = await firstEvent(new URL('/sse', server.baseUrl));
    assert.equal(first.event, 'endpoint');
    assert.match(first.data, /^\/messages\?sessionId=[0-9a-f]{32}$/);

    const messages = new URL('/messages', server.baseUrl);
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const missing = await postJson(messages, ping);
    assert.equal(missing.status, 400);
    assert.equal(missing.body.jsonrpc, '2.0');
    const unknown = await postJson(new URL('/messages?sessionId=ffffffffffffffffffffffffffffffff', server.baseUrl), ping);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, -32001);
    const bad = await postJson(new URL(first.data, server.baseUrl), '{oops');
    // The session of that aborted stream may already be gone (404); if not, -32700.
    assert.ok(bad.status === 400 || bad.status === 404, `status ${bad.status}`);
    if (bad.status === 400) assert.equal(bad.body.error.code, -32700);
  });

  test('closing the transport ends the session', async () => {
    // The SDK keeps the endpoint it was given in a private field.
    const endpoint = transport._endpoint;
    assert.ok(endpoint instanceof URL, 'endpoint received');
    await client.close();
    let status = 0;
    for (let i = 0; i < 50 && status !== 404; i++) {
      status = (await postJson(endpoint, { jsonrpc: '2.0', id: 9, method: 'ping' })).status;
      if (status !== 404) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 404, 'POST after the SSE connection closed');
  });
});
