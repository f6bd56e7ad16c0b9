// mcp-hive as an OAuth 2.1 resource server, against a real third-party
// authorization server (oidc-provider, see oidc-provider.mjs) and the official
// TypeScript SDK client (ClientCredentialsProvider: RFC 9728 discovery,
// RFC 8414 metadata, client_credentials with an RFC 8707 resource indicator).
//
// Two modes: JWT access tokens verified against the issuer's JWKS (discovered
// from its metadata), and opaque access tokens checked through RFC 7662
// introspection by the `mcp-server` client.
// Run: node --test tests/clients/ts   (MCP_HIVE_ECHO_STDERR=1 shows the server log)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { startServer } from './server.mjs';
import { startAuthorizationServer } from './oidc-provider.mjs';

const MCP_SCOPE = 'mcp:tools';

function textOf(result) {
  return (result.content ?? [])
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

function scopeList(scopes) {
  if (Array.isArray(scopes)) return scopes;
  return typeof scopes === 'string' ? scopes.split(' ').filter(Boolean) : [];
}

const initializeRequest = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: LATEST_PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: 'mcp-hive-oauth-raw', version: '0.0.0' },
  },
};

/** A raw JSON-RPC POST to the MCP endpoint. */
function post(url, body, headers = {}) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

const MODES = [
  {
    name: 'JWT access tokens (JWKS from the issuer metadata)',
    accessTokenFormat: 'jwt',
    env: (as) => ({
      AUTH_TOKEN_MODE: 'jwt',
      OAUTH_SERVER_URL: as.issuer,
      JWT_ISSUER: as.issuer,
      MCP_SCOPE,
    }),
  },
  {
    name: 'opaque access tokens (RFC 7662 introspection)',
    accessTokenFormat: 'opaque',
    env: (as) => ({
      AUTH_TOKEN_MODE: 'introspection',
      OAUTH_SERVER_URL: as.issuer,
      OAUTH_INTROSPECT_URL: as.introspectionUrl,
      OAUTH_CLIENT_ID: as.clients.mcpServer.clientId,
      OAUTH_CLIENT_SECRET: as.clients.mcpServer.clientSecret,
      MCP_SCOPE,
    }),
  },
];

for (const mode of MODES) {
  describe(`OAuth resource server: ${mode.name}`, { timeout: 120_000 }, () => {
    let as;
    let server;
    let resource; // http://127.0.0.1:<mcp port>/mcp, known once the server listens
    let prmUrl;
    let client;
    let transport;

    before(async () => {
      as = await startAuthorizationServer({
        accessTokenFormat: mode.accessTokenFormat,
        resource: () => resource,
      });
      server = await startServer({ disableAuth: false, env: mode.env(as) });
      resource = new URL('/mcp', server.baseUrl).href;
      prmUrl = new URL('/.well-known/oauth-protected-resource/mcp', server.baseUrl).href;
    });

    after(async () => {
      await transport?.terminateSession().catch(() => {});
      await client?.close().catch(() => {});
      await server?.stop();
      await as?.stop();
    });

    test('an unauthenticated initialize gets 401 with a Bearer challenge', async () => {
      const res = await post(server.mcpUrl, initializeRequest);
      const body = await res.text();
      assert.equal(res.status, 401, `401 expected, got ${res.status}: ${body}`);
      const www = res.headers.get('www-authenticate') ?? '';
      assert.match(www, /\bBearer\b/, `WWW-Authenticate: ${www}`);
      assert.ok(www.includes(`resource_metadata="${prmUrl}"`), `resource_metadata in WWW-Authenticate: ${www}`);
      assert.ok(www.includes(`scope="${MCP_SCOPE}"`), `scope in WWW-Authenticate: ${www}`);
    });

    test('protected resource metadata (RFC 9728) names the authorization server', async () => {
      const res = await fetch(prmUrl, { headers: { accept: 'application/json' } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      const prm = await res.json();
      assert.equal(prm.resource, resource);
      assert.deepEqual(prm.authorization_servers, [as.issuer]);
      assert.ok(
        Array.isArray(prm.scopes_supported) && prm.scopes_supported.includes(MCP_SCOPE),
        `scopes_supported includes ${MCP_SCOPE}: ${JSON.stringify(prm)}`,
      );
      assert.deepEqual(prm.bearer_methods_supported, ['header']);
    });

    test('the SDK client authorizes with client_credentials and calls tools', async () => {
      const authProvider = new ClientCredentialsProvider({
        clientId: as.clients.mcpClient.clientId,
        clientSecret: as.clients.mcpClient.clientSecret,
        expectedIssuer: as.issuer,
        clientName: 'mcp-hive-oauth-test',
        // The SDK puts clientMetadata.scope (not the challenge's scope) in the token request.
        scope: MCP_SCOPE,
      });
      client = new Client({ name: 'mcp-hive-oauth-test', version: '0.0.0' });
      transport = new StreamableHTTPClientTransport(server.mcpUrl, { authProvider });
      await client.connect(transport);
      assert.ok(transport.sessionId, 'server assigned an Mcp-Session-Id');
      const tokens = authProvider.tokens();
      assert.ok(tokens?.access_token, 'the provider holds an access token');

      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      for (const name of ['add', 'greet', 'whoami']) {
        assert.ok(names.includes(name), `tool ${name} listed (got ${names.join(', ')})`);
      }

      const add = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
      assert.ok(!add.isError, `add succeeded: ${JSON.stringify(add)}`);
      assert.match(`${textOf(add)} ${JSON.stringify(add.structuredContent ?? {})}`, /\b5\b/);

      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      assert.ok(!whoami.isError, `whoami succeeded: ${JSON.stringify(whoami)}`);
      const me = whoami.structuredContent;
      assert.ok(me, `whoami has structuredContent: ${JSON.stringify(whoami)}`);
      assert.equal(me.client_id, as.clients.mcpClient.clientId);
      assert.ok(scopeList(me.scopes).includes(MCP_SCOPE), `scopes include ${MCP_SCOPE}: ${JSON.stringify(me)}`);
      assert.equal(me.issuer, as.issuer);
      assert.equal(me.authenticated, true);
    });

    test("another principal cannot use the client's session", async () => {
      assert.ok(transport?.sessionId, 'needs the session of the previous test');
      const sessionHeaders = {
        'mcp-session-id': transport.sessionId,
        'mcp-protocol-version': transport.protocolVersion ?? LATEST_PROTOCOL_VERSION,
      };
      const listTools = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };

      const other = await as.clientCredentialsToken(as.clients.otherClient, { scope: MCP_SCOPE, resource });
      const hijack = await post(server.mcpUrl, listTools, {
        ...sessionHeaders,
        authorization: `Bearer ${other.access_token}`,
      });
      const hijackBody = await hijack.text();
      assert.equal(hijack.status, 404, `other-client gets 404 for the session, got ${hijack.status}: ${hijackBody}`);

      const own = await as.clientCredentialsToken(as.clients.mcpClient, { scope: MCP_SCOPE, resource });
      const ok = await post(server.mcpUrl, listTools, {
        ...sessionHeaders,
        authorization: `Bearer ${own.access_token}`,
      });
      const okBody = await ok.text();
      assert.equal(ok.status, 200, `a fresh mcp-client token may use the session, got ${ok.status}: ${okBody}`);
      assert.match(okBody, /"tools"/);
    });

    test('a garbage bearer token gets 401 invalid_token', async () => {
      const res = await post(server.mcpUrl, initializeRequest, { authorization: 'Bearer not-a-real-token' });
      const body = await res.text();
      assert.equal(res.status, 401, `401 expected, got ${res.status}: ${body}`);
      const www = res.headers.get('www-authenticate') ?? '';
      assert.match(www, /\bBearer\b/, `WWW-Authenticate: ${www}`);
      assert.ok(www.includes('error="invalid_token"'), `invalid_token in WWW-Authenticate: ${www}`);
    });
  });
}
