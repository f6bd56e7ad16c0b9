// The official MCP TypeScript SDK client against mcp-hive's demo tools.
// Run: node --test tests/clients/ts   (Node >= 22; see scripts/test-all.sh)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EmptyResultSchema, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { startServer } from './server.mjs';

const DEMO_TOOLS = ['add', 'multiply', 'greet', 'count'];

function textOf(result) {
  return (result.content ?? [])
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

describe('TypeScript SDK client: demo tools', () => {
  let server;
  let client;
  let transport;

  before(async () => {
    server = await startServer();
    client = new Client({ name: 'mcp-hive-ts-test', version: '0.0.0' });
    transport = new StreamableHTTPClientTransport(server.mcpUrl);
    await client.connect(transport);
  });

  after(async () => {
    await transport?.terminateSession().catch(() => {});
    await client?.close().catch(() => {});
    await server?.stop();
  });

  test('initialize negotiates a session', () => {
    const info = client.getServerVersion();
    assert.ok(info, 'server sent serverInfo');
    assert.equal(typeof info.name, 'string');
    assert.ok(transport.sessionId, 'server assigned an Mcp-Session-Id');
    assert.equal(transport.protocolVersion, LATEST_PROTOCOL_VERSION);
    const caps = client.getServerCapabilities();
    assert.ok(caps?.tools, `server declares the tools capability: ${JSON.stringify(caps)}`);
  });

  test('tools/list contains the four demo tools', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    for (const name of DEMO_TOOLS) {
      assert.ok(names.includes(name), `tool ${name} listed (got ${names.join(', ')})`);
    }
    for (const tool of tools.filter((t) => DEMO_TOOLS.includes(t.name))) {
      assert.equal(tool.inputSchema?.type, 'object', `${tool.name} has an object inputSchema`);
    }
  });

  test('add returns the sum as text and structuredContent', async () => {
    const result = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
    assert.ok(!result.isError, `add succeeded: ${JSON.stringify(result)}`);
    assert.deepEqual(result.structuredContent, { result: 42 });
    assert.match(textOf(result), /\b42\b/);

    const frac = await client.callTool({ name: 'add', arguments: { a: 1.5, b: -4 } });
    assert.deepEqual(frac.structuredContent, { result: -2.5 });
  });

  test('multiply returns the product as structuredContent', async () => {
    const result = await client.callTool({ name: 'multiply', arguments: { a: 6, b: 7 } });
    assert.ok(!result.isError, `multiply succeeded: ${JSON.stringify(result)}`);
    assert.deepEqual(result.structuredContent, { result: 42 });

    const neg = await client.callTool({ name: 'multiply', arguments: { a: -3, b: 0.5 } });
    assert.deepEqual(neg.structuredContent, { result: -1.5 });
  });

  test('greet greets by name', async () => {
    const result = await client.callTool({ name: 'greet', arguments: { name: 'Hive' } });
    assert.ok(!result.isError, `greet succeeded: ${JSON.stringify(result)}`);
    assert.equal(textOf(result), 'Hello, Hive!');
  });

  test('count sends one progress notification per step', async () => {
    const progress = [];
    const result = await client.callTool(
      { name: 'count', arguments: { number: 5, intervalMs: 20 } },
      undefined,
      { onprogress: (p) => progress.push(p), timeout: 30_000 },
    );
    assert.ok(!result.isError, `count succeeded: ${JSON.stringify(result)}`);
    assert.match(textOf(result), /Counted to 5/);
    assert.equal(progress.length, 5, `5 progress notifications: ${JSON.stringify(progress)}`);
    assert.deepEqual(
      progress.map((p) => p.progress),
      [1, 2, 3, 4, 5],
    );
    for (const p of progress) assert.equal(p.total, 5);
  });

  test('count without a progress token just returns', async () => {
    const result = await client.callTool({ name: 'count', arguments: { number: 3, intervalMs: 1 } });
    assert.match(textOf(result), /Counted to 3/);
  });

  test('unknown tool is an error', async () => {
    // Either a JSON-RPC error or a tool result with isError is acceptable.
    let result;
    try {
      result = await client.callTool({ name: 'no-such-tool', arguments: {} });
    } catch (err) {
      assert.ok(err instanceof Error);
      return;
    }
    assert.equal(result.isError, true);
  });

  test('ping via client.ping() and a raw request', async () => {
    assert.deepEqual(await client.ping(), {});
    const res = await client.request({ method: 'ping' }, EmptyResultSchema);
    assert.deepEqual(res, {});
  });
});
