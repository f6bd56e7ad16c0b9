// The demo OAuth 2.1 authorization server of mcp-hive (`mcp-hive auth`, `mcp-hive dev`), driven
// by the official TypeScript SDK's OAuth client (authorization code + PKCE, dynamic client
// registration, RFC 8707 resource, refresh) and by hand (login and consent page, revocation).
//
// 1. `mcp-hive dev` (AUTH_PORT=0 PORT=0, DISABLE_AUTH unset), once with opaque tokens checked by
//    introspection (the default) and once with AUTH_TOKEN_MODE=jwt: the SDK's
//    StreamableHTTPClientTransport with an in-memory OAuthClientProvider registers a public
//    client, is sent to /authorize (auto-approve: the redirect carries the code at once), the
//    code is exchanged by transport.finishAuth(), and a fresh client calls the tools as the
//    demo user. Then refresh-token rotation (through the SDK after its access token was made
//    invalid, and the old refresh token refused at /token), and RFC 7009 revocation.
// 2. `mcp-hive auth` alone without auto-approve: the login and consent page (CSRF double-submit
//    cookie, wrong password, approve, deny, code exchange and replay).
//
// Run: node --test tests/clients/ts/authserver.test.mjs   (MCP_HIVE_ECHO_STDERR=1 shows the
// server logs)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { REPO_ROOT, serverBinary } from './server.mjs';

const AUTH_LISTENING_RE = /^mcp-hive auth listening on (http:\/\/\S+) \(issuer (\S+)\)$/;
const MCP_LISTENING_RE = /^mcp-hive listening on (http:\/\/\S+)$/;
const START_TIMEOUT_MS = Number(process.env.MCP_HIVE_START_TIMEOUT_MS ?? 30_000);
const MCP_SCOPE = 'mcp:tools';
const DEMO_USER = 'demo'; // the default AUTH_USERS is demo:demo
// In introspection mode the MCP server trusts a validated token for auth.cache_max_secs (default
// 60) before asking the authorization server again; 1 s keeps the revocation test short.
const TOKEN_CACHE_SECS = 1;

// Settings the tests choose themselves: never inherited from the caller's environment.
const SCRUBBED_ENV = [
  'DISABLE_AUTH', 'AUTH_TOKEN_MODE', 'AUTH_TOKEN_FORMAT', 'AUTH_AUTO_APPROVE', 'AUTH_USERS',
  'AUTH_HOST', 'AUTH_PORT', 'ISSUER_URL', 'ACCESS_TOKEN_TTL_SECS', 'REDIS_URL', 'PUBLIC_URL',
  'OAUTH_SERVER_URL', 'OAUTH_INTROSPECT_URL', 'OAUTH_CLIENT_ID', 'OAUTH_CLIENT_SECRET',
  'JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_JWKS_URL', 'MCP_SCOPE', 'MCP_HIVE_CONFIG', 'PORT', 'HOST',
];

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `mcp-hive <args>` and waits until every pattern in `expect` matched a stdout line (in
 * order). Resolves with the match arrays, `stderr()` and `stop()`.
 */
async function launch(args, env, expect) {
  const bin = serverBinary();
  if (!existsSync(bin)) {
    throw new Error(`mcp-hive binary not found at ${bin} (run cargo build, or set MCP_HIVE_BIN)`);
  }
  const fullEnv = { ...process.env, LOG_FORMAT: process.env.LOG_FORMAT ?? 'text' };
  for (const k of SCRUBBED_ENV) delete fullEnv[k];
  for (const k of Object.keys(fullEnv)) if (k.startsWith('MCP_HIVE__')) delete fullEnv[k];
  Object.assign(fullEnv, env);
  const child = spawn(bin, args, { cwd: REPO_ROOT, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const echo = process.env.MCP_HIVE_ECHO_STDERR === '1';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (echo) process.stderr.write(chunk);
  });
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const matches = await new Promise((resolve, reject) => {
    const found = [];
    let settled = false;
    const fail = (msg) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${msg}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr.slice(-8000)}`));
    };
    const timer = setTimeout(
      () => fail(`mcp-hive ${args.join(' ')} did not print ${expect.map(String).join(', ')} within ${START_TIMEOUT_MS} ms`),
      START_TIMEOUT_MS,
    );
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        const m = expect[found.length]?.exec(line);
        if (m) found.push(m);
        if (found.length === expect.length && !settled) {
          settled = true;
          clearTimeout(timer);
          resolve(found);
          return;
        }
      }
    });
    child.once('error', (err) => fail(`failed to spawn ${bin}: ${err.message}`));
    exited.then(({ code, signal }) => fail(`mcp-hive ${args.join(' ')} exited (code ${code}, signal ${signal}) before listening`));
  });
  return {
    matches,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const res = await exited;
      clearTimeout(timer);
      return res;
    },
  };
}

/** A loopback port nobody listens on (for redirect URIs that are never followed). */
function unusedPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

function pkcePair() {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash('sha256').update(verifier).digest()) };
}

function form(url, fields, headers = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
}

async function json(res) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`expected JSON, got ${res.status}: ${text.slice(0, 500)}`);
  }
}

function textOf(result) {
  return (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

/** A raw initialize POST to the MCP endpoint with a bearer token. */
function initializeWith(mcpUrl, accessToken) {
  return fetch(mcpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${accessToken}`,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: LATEST_PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: 'mcp-hive-authserver-raw', version: '0.0.0' },
      },
    }),
  });
}

/**
 * An in-memory OAuthClientProvider for a public client (token_endpoint_auth_method none) whose
 * "browser" is a fetch with redirect: 'manual' against the auto-approving authorization server:
 * the code is taken from the Location header of its 302.
 */
class InMemoryOAuthProvider {
  constructor(redirectUrl) {
    this._redirectUrl = redirectUrl;
    this._clientInformation = undefined;
    this._tokens = undefined;
    this._codeVerifier = undefined;
    this._state = undefined;
    this.registrations = 0;
    this.savedTokens = []; // every saveTokens() argument, in order
    this.authorizationUrls = []; // every URL given to redirectToAuthorization()
    this.redirects = []; // the Location each of them answered with
  }

  get redirectUrl() {
    return this._redirectUrl;
  }

  get clientMetadata() {
    return {
      client_name: 'mcp-hive authserver test',
      redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    this._state = b64url(randomBytes(16));
    return this._state;
  }

  get lastState() {
    return this._state;
  }

  clientInformation() {
    return this._clientInformation;
  }

  saveClientInformation(info) {
    this.registrations += 1;
    this._clientInformation = info;
  }

  tokens() {
    return this._tokens;
  }

  saveTokens(tokens) {
    this.savedTokens.push(tokens);
    this._tokens = tokens;
  }

  /** Replace the access token (keeping everything else, including the SDK's issuer stamp). */
  spoilAccessToken(value) {
    this._tokens = { ...this._tokens, access_token: value };
  }

  saveCodeVerifier(v) {
    this._codeVerifier = v;
  }

  codeVerifier() {
    if (!this._codeVerifier) throw new Error('no code verifier saved');
    return this._codeVerifier;
  }

  async redirectToAuthorization(url) {
    this.authorizationUrls.push(new URL(url));
    const res = await fetch(url, { redirect: 'manual' });
    await res.arrayBuffer();
    const location = res.headers.get('location');
    if (res.status !== 302 || !location) {
      throw new Error(`the auto-approving /authorize answered ${res.status} without a redirect`);
    }
    this.redirects.push(new URL(location));
  }

  get lastRedirect() {
    return this.redirects.at(-1);
  }
}

const DEV_MODES = [
  { name: 'opaque tokens, introspection', jwt: false },
  { name: 'JWT access tokens (AUTH_TOKEN_MODE=jwt)', jwt: true },
];

for (const mode of DEV_MODES) {
  describe(`mcp-hive dev, SDK authorization code flow: ${mode.name}`, { timeout: 120_000 }, () => {
    let dev;
    let asBase; // http://127.0.0.1:<aport> (where it listens)
    let issuer; // http://localhost:<aport>
    let mcpUrl; // http://127.0.0.1:<port>/mcp, the canonical resource with PORT=0
    let metadata;
    let provider;
    let redirectUrl;
    let clients = [];

    before(async () => {
      const env = { AUTH_PORT: '0', PORT: '0', MCP_HIVE__AUTH__CACHE_MAX_SECS: String(TOKEN_CACHE_SECS) };
      if (mode.jwt) env.AUTH_TOKEN_MODE = 'jwt';
      dev = await launch(['dev'], env, [AUTH_LISTENING_RE, MCP_LISTENING_RE]);
      const [authLine, mcpLine] = dev.matches;
      asBase = authLine[1];
      issuer = authLine[2];
      mcpUrl = new URL('/mcp', mcpLine[1]).href;
      assert.match(asBase, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(issuer, `http://localhost:${new URL(asBase).port}`);
      redirectUrl = `http://127.0.0.1:${await unusedPort()}/callback`;
      provider = new InMemoryOAuthProvider(redirectUrl);
      metadata = await json(await fetch(`${asBase}/.well-known/oauth-authorization-server`));
    });

    after(async () => {
      for (const { client, transport } of clients) {
        await transport.terminateSession().catch(() => {});
        await client.close().catch(() => {});
      }
      await dev?.stop();
    });

    async function connect() {
      const client = new Client({ name: 'mcp-hive-authserver-test', version: '0.0.0' });
      const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
      clients.push({ client, transport });
      await client.connect(transport);
      return { client, transport };
    }

    test('discovery: the metadata and the protected resource name each other', async () => {
      assert.equal(metadata.issuer, issuer);
      assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
      assert.equal(metadata.registration_endpoint, `${issuer}/register`);
      assert.equal(metadata.authorization_response_iss_parameter_supported, true);
      const prm = await json(await fetch(new URL('/.well-known/oauth-protected-resource/mcp', mcpUrl)));
      assert.equal(prm.resource, mcpUrl);
      assert.deepEqual(prm.authorization_servers, [issuer]);
      const unauth = await initializeWith(mcpUrl, 'x').then(async (r) => (await r.arrayBuffer(), r));
      assert.equal(unauth.status, 401);
    });

    test('the SDK registers, authorizes (PKCE S256, resource) and calls the tools as the demo user', async () => {
      // 1. No token: the SDK discovers, registers dynamically and is sent to /authorize.
      const first = new Client({ name: 'mcp-hive-authserver-test', version: '0.0.0' });
      const firstTransport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
      await assert.rejects(first.connect(firstTransport), UnauthorizedError);
      await first.close().catch(() => {});

      const info = provider.clientInformation();
      assert.equal(provider.registrations, 1, 'registered exactly once');
      assert.ok(info?.client_id, `dynamic registration returned a client_id: ${JSON.stringify(info)}`);
      assert.deepEqual(info.redirect_uris, [redirectUrl]);
      assert.equal(info.token_endpoint_auth_method, 'none');
      assert.equal(info.client_secret, undefined, 'a public client gets no secret');

      assert.equal(provider.authorizationUrls.length, 1);
      const authUrl = provider.authorizationUrls[0];
      assert.equal(`${authUrl.origin}${authUrl.pathname}`, metadata.authorization_endpoint);
      const q = authUrl.searchParams;
      assert.equal(q.get('response_type'), 'code');
      assert.equal(q.get('client_id'), info.client_id);
      assert.equal(q.get('redirect_uri'), redirectUrl);
      assert.equal(q.get('code_challenge_method'), 'S256');
      assert.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.equal(q.get('resource'), mcpUrl, 'RFC 8707 resource = the MCP endpoint');
      assert.equal(q.get('scope'), MCP_SCOPE, 'scope from the challenge / protected resource metadata');
      assert.equal(q.get('state'), provider.lastState);

      // The auto-approving server answered with the code, the state and the issuer (RFC 9207).
      const back = provider.lastRedirect;
      assert.equal(`${back.origin}${back.pathname}`, redirectUrl);
      const code = back.searchParams.get('code');
      assert.ok(code, `redirect carries a code: ${back}`);
      assert.equal(back.searchParams.get('state'), provider.lastState);
      assert.equal(back.searchParams.get('iss'), issuer);
      assert.equal(back.searchParams.get('error'), null);

      // 2. The code for tokens.
      await firstTransport.finishAuth(code);
      const tokens = provider.tokens();
      assert.ok(tokens?.access_token, 'an access token was saved');
      assert.ok(tokens.refresh_token, 'a refresh token was saved');
      assert.match(tokens.token_type, /^bearer$/i);
      assert.equal(tokens.scope, MCP_SCOPE);
      if (mode.jwt) {
        const [header, payload] = tokens.access_token.split('.').slice(0, 2)
          .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString('utf8')));
        assert.equal(header.typ, 'at+jwt');
        assert.equal(payload.iss, issuer);
        assert.equal(payload.aud, mcpUrl);
        assert.equal(payload.sub, DEMO_USER);
        assert.equal(payload.client_id, info.client_id);
      } else {
        assert.equal(tokens.access_token.split('.').length, 1, 'an opaque token, not a JWT');
      }

      // 3. A fresh client connects with the token and calls the tools.
      const { client, transport } = await connect();
      assert.ok(transport.sessionId, 'server assigned an Mcp-Session-Id');
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      for (const name of ['add', 'greet', 'whoami']) {
        assert.ok(names.includes(name), `tool ${name} listed (got ${names.join(', ')})`);
      }
      const add = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
      assert.ok(!add.isError, `add succeeded: ${JSON.stringify(add)}`);
      assert.equal(add.structuredContent?.result, 5, textOf(add));

      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      assert.ok(!whoami.isError, `whoami succeeded: ${JSON.stringify(whoami)}`);
      const me = whoami.structuredContent;
      assert.equal(me.authenticated, true);
      assert.equal(me.subject, DEMO_USER);
      assert.equal(me.client_id, info.client_id);
      assert.equal(me.issuer, issuer);
      assert.ok(me.scopes.includes(MCP_SCOPE), `scopes: ${JSON.stringify(me.scopes)}`);
      assert.equal(provider.registrations, 1, 'no second registration');
      assert.equal(provider.authorizationUrls.length, 1, 'no second authorization');
    });

    test('an invalid access token makes the SDK refresh; the refresh token rotates', async () => {
      const before = provider.tokens();
      assert.ok(before?.refresh_token, 'needs the tokens of the previous test');
      const savedBefore = provider.savedTokens.length;
      provider.spoilAccessToken('not-a-valid-token');

      // 401 → the SDK refreshes (grant_type=refresh_token) and retries.
      const { client } = await connect();
      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      assert.equal(whoami.structuredContent?.subject, DEMO_USER);
      assert.equal(provider.savedTokens.length, savedBefore + 1, 'the SDK saved refreshed tokens');
      assert.equal(provider.authorizationUrls.length, 1, 'refreshed, not re-authorized');
      const after = provider.tokens();
      assert.ok(after.access_token && after.access_token !== before.access_token, 'a new access token');
      assert.ok(after.refresh_token && after.refresh_token !== before.refresh_token, 'a new refresh token (rotation)');

      // The old refresh token was used up (presenting it again would be a replay, which
      // revokes the whole grant, OAuth 2.1 §4.3.1; the Rust tests cover that).
      const clientId = provider.clientInformation().client_id;
      const inactive = async (token) => {
        const res = await form(metadata.introspection_endpoint, { token });
        return (await json(res)).active === false;
      };
      assert.ok(await inactive(before.refresh_token), 'the rotated-out refresh token is inactive');

      // The new one works, once, and rotates again (directly at the token endpoint).
      const again = await form(metadata.token_endpoint, {
        grant_type: 'refresh_token',
        refresh_token: after.refresh_token,
        client_id: clientId,
        resource: mcpUrl,
      });
      const againBody = await json(again);
      assert.equal(again.status, 200, JSON.stringify(againBody));
      assert.equal(again.headers.get('cache-control'), 'no-store');
      assert.ok(againBody.refresh_token && againBody.refresh_token !== after.refresh_token);
      assert.equal(againBody.scope, MCP_SCOPE);
      provider.saveTokens({ ...after, ...againBody });
      assert.ok(await inactive(after.refresh_token), 'rotated again: the previous one is inactive');
    });

    test('revocation (RFC 7009) of the access token, then of the refresh token', async (t) => {
      const tokens = provider.tokens();
      const clientId = provider.clientInformation().client_id;
      const introspect = async (token) =>
        json(await form(metadata.introspection_endpoint, { token })); // public in `mcp-hive dev`

      // The current access token works and introspects as active.
      const ok = await initializeWith(mcpUrl, tokens.access_token);
      await ok.arrayBuffer();
      assert.equal(ok.status, 200, 'the access token is accepted before revocation');
      const active = await introspect(tokens.access_token);
      assert.equal(active.active, true, JSON.stringify(active));
      assert.equal(active.sub, DEMO_USER);
      assert.equal(active.client_id, clientId);
      assert.equal(active.aud, mcpUrl);
      assert.equal(active.iss, issuer);

      const revoke = await form(metadata.revocation_endpoint, {
        token: tokens.access_token,
        token_type_hint: 'access_token',
        client_id: clientId,
      });
      assert.equal(revoke.status, 200, await revoke.text());
      assert.deepEqual(await introspect(tokens.access_token), { active: false });

      // Past the MCP server's token cache (auth.cache_max_secs, set to TOKEN_CACHE_SECS here).
      await sleep(TOKEN_CACHE_SECS * 1000 + 500);
      const res = await initializeWith(mcpUrl, tokens.access_token);
      const body = await res.text();
      if (mode.jwt) {
        // JWTs are verified locally against the JWKS: the MCP server does not see the
        // revocation until the token expires (ACCESS_TOKEN_TTL_SECS). Only the authorization
        // server's introspection (checked above) reports it.
        t.diagnostic(`JWT mode: the revoked access token still gets ${res.status} from the MCP server (local validation)`);
      } else {
        assert.equal(res.status, 401, `a revoked opaque token gets 401, got ${res.status}: ${body}`);
        assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      }

      // Revoking the refresh token revokes its grant: the refresh token and every access
      // token issued from it (RFC 7009 §2.1).
      const refreshed = await form(metadata.token_endpoint, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
        client_id: clientId,
      });
      const fresh = await json(refreshed);
      assert.equal(refreshed.status, 200, JSON.stringify(fresh));
      assert.equal((await introspect(fresh.access_token)).active, true);
      const revokeRefresh = await form(metadata.revocation_endpoint, {
        token: fresh.refresh_token,
        token_type_hint: 'refresh_token',
        client_id: clientId,
      });
      assert.equal(revokeRefresh.status, 200, await revokeRefresh.text());
      assert.deepEqual(await introspect(fresh.refresh_token), { active: false });
      assert.deepEqual(await introspect(fresh.access_token), { active: false }, 'the grant is revoked');
      const dead = await form(metadata.token_endpoint, {
        grant_type: 'refresh_token',
        refresh_token: fresh.refresh_token,
        client_id: clientId,
      });
      assert.equal(dead.status, 400);
      assert.equal((await json(dead)).error, 'invalid_grant');
      if (!mode.jwt) {
        const gone = await initializeWith(mcpUrl, fresh.access_token);
        await gone.arrayBuffer();
        assert.equal(gone.status, 401, 'an access token of a revoked grant gets 401');
      }

      // An unknown token is a 200 no-op.
      const unknown = await form(metadata.revocation_endpoint, { token: 'no-such-token', client_id: clientId });
      assert.equal(unknown.status, 200);
    });
  });
}

describe('mcp-hive auth: login and consent page (no auto-approve)', { timeout: 60_000 }, () => {
  let as;
  let base;
  let issuer;
  let client;
  let redirectUri;
  const resource = 'http://127.0.0.1:9/mcp';

  before(async () => {
    as = await launch(['auth'], { AUTH_PORT: '0' }, [AUTH_LISTENING_RE]);
    [, base, issuer] = as.matches[0];
    redirectUri = `http://127.0.0.1:${await unusedPort()}/callback`;
    const res = await fetch(`${base}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'consent page test',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      }),
    });
    client = await json(res);
    assert.equal(res.status, 201, JSON.stringify(client));
    assert.ok(client.client_id);
  });

  after(async () => {
    await as?.stop();
  });

  /** GET /authorize; returns the page, its hidden fields and the CSRF cookie. */
  async function openPage(pkce, state) {
    const url = new URL(`${base}/authorize`);
    for (const [k, v] of Object.entries({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: redirectUri,
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
      scope: MCP_SCOPE,
      state,
      resource,
    })) url.searchParams.set(k, v);
    const res = await fetch(url, { redirect: 'manual' });
    const html = await res.text();
    const setCookie = res.headers.getSetCookie();
    const cookie = setCookie.find((c) => c.startsWith('mcp_hive_csrf='));
    const hidden = {};
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      hidden[m[1]] = m[2].replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#x27;', "'")
        .replaceAll('&lt;', '<').replaceAll('&gt;', '>');
    }
    return { res, html, cookie, csrfCookie: cookie?.split(';')[0], hidden };
  }

  const submit = (fields, cookie) =>
    form(`${base}/authorize`, fields, cookie ? { cookie } : {});

  test('GET /authorize shows the login form with a CSRF cookie; POST checks CSRF and password', async () => {
    const pkce = pkcePair();
    const state = b64url(randomBytes(12));
    const page = await openPage(pkce, state);
    assert.equal(page.res.status, 200, page.html.slice(0, 500));
    assert.match(page.res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(page.res.headers.get('location'), null, 'no redirect without auto-approve');
    assert.match(page.html, /<form method="post"/);
    assert.match(page.html, /name="username"/);
    assert.match(page.html, /name="password"/);
    assert.match(page.html, /name="decision" value="approve"/);
    assert.ok(page.cookie, `Set-Cookie mcp_hive_csrf: ${page.res.headers.getSetCookie()}`);
    assert.match(page.cookie, /HttpOnly/i);
    assert.match(page.cookie, /SameSite=Strict/i);
    const csrf = page.csrfCookie.split('=')[1];
    assert.equal(page.hidden.csrf, csrf, 'the form carries the cookie value');
    assert.equal(page.hidden.client_id, client.client_id);
    assert.equal(page.hidden.redirect_uri, redirectUri);
    assert.equal(page.hidden.code_challenge, pkce.challenge);
    assert.equal(page.hidden.state, state);
    assert.equal(page.hidden.resource, resource);

    // Wrong password: the form again, 401, no code.
    const wrong = await submit({ ...page.hidden, username: DEMO_USER, password: 'wrong', decision: 'approve' }, page.csrfCookie);
    const wrongHtml = await wrong.text();
    assert.equal(wrong.status, 401, wrongHtml.slice(0, 300));
    assert.equal(wrong.headers.get('location'), null);
    assert.match(wrongHtml, /Wrong username or password/);
    assert.doesNotMatch(wrongHtml, /code=/);

    // CSRF: no cookie, no field, or a mismatch → 400, never a code.
    const good = { ...page.hidden, username: DEMO_USER, password: 'demo', decision: 'approve' };
    const { csrf: _omit, ...noField } = good;
    const otherCsrf = `mcp_hive_csrf=${b64url(randomBytes(32))}`;
    for (const [what, fields, cookie] of [
      ['no cookie', good, undefined],
      ['no csrf field', noField, page.csrfCookie],
      ['mismatched cookie', good, otherCsrf],
      ['mismatched field', { ...good, csrf: b64url(randomBytes(32)) }, page.csrfCookie],
    ]) {
      const res = await submit(fields, cookie);
      const body = await res.text();
      assert.equal(res.status, 400, `${what}: 400 expected, got ${res.status}: ${body.slice(0, 300)}`);
      assert.equal(res.headers.get('location'), null, `${what}: no redirect`);
    }

    // The right password and approve: 302 to the client with code, state and iss.
    const ok = await submit(good, page.csrfCookie);
    await ok.arrayBuffer();
    assert.equal(ok.status, 302);
    const loc = new URL(ok.headers.get('location'));
    assert.equal(`${loc.origin}${loc.pathname}`, redirectUri);
    const code = loc.searchParams.get('code');
    assert.ok(code, `code in ${loc}`);
    assert.equal(loc.searchParams.get('state'), state);
    assert.equal(loc.searchParams.get('iss'), issuer);

    // The code works once, with the PKCE verifier; a replay is invalid_grant.
    const exchange = (verifier) => form(`${base}/token`, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: client.client_id,
      resource,
    });
    const tok = await exchange(pkce.verifier);
    const tokBody = await json(tok);
    assert.equal(tok.status, 200, JSON.stringify(tokBody));
    assert.ok(tokBody.access_token && tokBody.refresh_token);
    assert.equal(tokBody.scope, MCP_SCOPE);
    const replay = await exchange(pkce.verifier);
    assert.equal(replay.status, 400);
    assert.equal((await json(replay)).error, 'invalid_grant');
  });

  test('a wrong PKCE verifier is refused, and deny sends access_denied back', async () => {
    const pkce = pkcePair();
    const page = await openPage(pkce, 'st1');
    assert.equal(page.res.status, 200);
    const ok = await submit({ ...page.hidden, username: DEMO_USER, password: 'demo', decision: 'approve' }, page.csrfCookie);
    await ok.arrayBuffer();
    assert.equal(ok.status, 302);
    const code = new URL(ok.headers.get('location')).searchParams.get('code');
    const bad = await form(`${base}/token`, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: pkcePair().verifier,
      client_id: client.client_id,
    });
    assert.equal(bad.status, 400);
    assert.equal((await json(bad)).error, 'invalid_grant');

    const page2 = await openPage(pkcePair(), 'st2');
    const deny = await submit({ ...page2.hidden, decision: 'deny' }, page2.csrfCookie);
    await deny.arrayBuffer();
    assert.equal(deny.status, 302);
    const loc = new URL(deny.headers.get('location'));
    assert.equal(`${loc.origin}${loc.pathname}`, redirectUri);
    assert.equal(loc.searchParams.get('error'), 'access_denied');
    assert.equal(loc.searchParams.get('state'), 'st2');
    assert.equal(loc.searchParams.get('iss'), issuer);
    assert.equal(loc.searchParams.get('code'), null);
  });
});
