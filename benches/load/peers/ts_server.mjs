// The TypeScript SDK peer of the load benchmark (copied into target/bench-peers/ts by
// benches/load, never part of mcp-hive): the official SDK's StreamableHTTPServerTransport in its
// stateful mode (one transport and McpServer per session, sessions kept in a Map), with the same
// `add` tool as mcp-hive's demo. JSON=1 answers with JSON bodies instead of SSE.
// Prints `listening on http://<addr>/mcp` once bound.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const json = process.env.JSON === '1';
const transports = new Map();

function demoServer() {
  const server = new McpServer({ name: 'ts-peer', version: '1.0.0' });
  server.registerTool(
    'add',
    {
      description: 'Add two numbers',
      inputSchema: { a: z.number(), b: z.number() },
      outputSchema: { result: z.number() },
    },
    async ({ a, b }) => ({
      content: [{ type: 'text', text: `The sum of ${a} and ${b} is ${a + b}` }],
      structuredContent: { result: a + b },
    }),
  );
  return server;
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

const http = createServer(async (req, res) => {
  try {
    const sid = req.headers['mcp-session-id'];
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    let transport = sid ? transports.get(sid) : undefined;
    if (!transport && !sid && req.method === 'POST' && isInitializeRequest(body)) {
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: json,
        onsessioninitialized: (id) => transports.set(id, transport),
      });
      transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId);
      await demoServer().connect(transport);
    }
    if (!transport) {
      res.writeHead(sid ? 404 : 400).end();
      return;
    }
    await transport.handleRequest(req, res, body);
  } catch (e) {
    if (!res.headersSent) res.writeHead(500).end(String(e));
  }
});
http.keepAliveTimeout = 120_000;
http.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const { port } = http.address();
  console.log(`listening on http://127.0.0.1:${port}/mcp`);
});
