// A real third-party OAuth 2.1 authorization server for the auth tests:
// `oidc-provider` (npm), run in-process on 127.0.0.1 with a free port.
//
//   const as = await startAuthorizationServer({ accessTokenFormat: 'jwt', resource: () => mcpResource });
//   as.issuer            // http://127.0.0.1:<port> (no trailing slash)
//   as.tokenUrl          // <issuer>/token
//   as.introspectionUrl  // <issuer>/token/introspection
//   as.jwksUrl           // <issuer>/jwks
//   as.clients           // { mcpClient, mcpServer, otherClient }: { clientId, clientSecret }
//   as.setResource(url)  // the MCP resource, when only known after the MCP server started
//   await as.clientCredentialsToken(as.clients.mcpClient, { scope: 'mcp:tools' })
//   await as.stop()
//
// Discovery: it serves both /.well-known/oauth-authorization-server (RFC 8414)
// and /.well-known/openid-configuration, with the same document.
//
// The one protected resource it knows is the MCP server's canonical resource
// URL (`resource`, read lazily on every request: a string, or a function
// returning one). Tokens are issued for it with the client_credentials grant
// and `resource=<url>` (also the default when `resource` is omitted); any
// other resource indicator is rejected with invalid_target. Its access tokens
// are either JWTs (RS256, key in the JWKS at /jwks, aud = the resource) or
// opaque tokens that the `mcp-server` client may introspect.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

/** Scopes the MCP resource server accepts. */
export const MCP_SCOPES = ['mcp:tools', 'mcp:admin'];

/** Fixed test credentials (loopback-only test harness). */
export const CLIENTS = Object.freeze({
  /** The MCP client (TS SDK ClientCredentialsProvider, Python raw token requests). */
  mcpClient: Object.freeze({ clientId: 'mcp-client', clientSecret: 'mcp-client-secret-0123456789abcdef' }),
  /** The MCP server itself, as a resource server calling the introspection endpoint. */
  mcpServer: Object.freeze({ clientId: 'mcp-server', clientSecret: 'mcp-server-secret-0123456789abcdef' }),
  /** A second principal (session-hijack tests). */
  otherClient: Object.freeze({ clientId: 'other-client', clientSecret: 'other-client-secret-0123456789abcdef' }),
});

const ACCESS_TOKEN_TTL_SECS = 3600;

// A per-provider in-memory adapter (the built-in one prints a "development-only"
// warning and is shared by every Provider in the process).
function createAdapterFactory() {
  const store = new Map(); // `${model}:${id}` -> { payload, expiresAt }
  const live = (key) => {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  };
  return (model) => ({
    async upsert(id, payload, expiresIn) {
      const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
      store.set(`${model}:${id}`, { payload, expiresAt });
    },
    async find(id) {
      return live(`${model}:${id}`);
    },
    async findByUid(uid) {
      for (const key of store.keys()) {
        if (key.startsWith(`${model}:`) && live(key)?.uid === uid) return live(key);
      }
      return undefined;
    },
    async findByUserCode(userCode) {
      for (const key of store.keys()) {
        if (key.startsWith(`${model}:`) && live(key)?.userCode === userCode) return live(key);
      }
      return undefined;
    },
    async consume(id) {
      const payload = live(`${model}:${id}`);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id) {
      store.delete(`${model}:${id}`);
    },
    async revokeByGrantId(grantId) {
      for (const [key, entry] of store) {
        if (entry.payload?.grantId === grantId) store.delete(key);
      }
    },
  });
}

function signingJwk() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `test-${randomUUID()}`, alg: 'RS256', use: 'sig' };
}

/**
 * Start oidc-provider on 127.0.0.1:<free port>.
 * @param {{
 *   accessTokenFormat?: 'jwt' | 'opaque',
 *   resource?: string | (() => string | undefined),
 *   accessTokenTTL?: number,
 * }} [opts]
 */
export async function startAuthorizationServer(opts = {}) {
  const accessTokenFormat = opts.accessTokenFormat ?? 'jwt';
  if (!['jwt', 'opaque'].includes(accessTokenFormat)) {
    throw new Error(`accessTokenFormat must be 'jwt' or 'opaque', got ${accessTokenFormat}`);
  }
  let resourceSource = opts.resource;
  const mcpResource = () => (typeof resourceSource === 'function' ? resourceSource() : resourceSource);
  const ttl = opts.accessTokenTTL ?? ACCESS_TOKEN_TTL_SECS;

  // The issuer contains the port, so listen first and mount the provider after.
  let handler = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const httpServer = createServer((req, res) => handler(req, res));
  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, '127.0.0.1', () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const { port } = httpServer.address();
  const issuer = `http://127.0.0.1:${port}`;

  const jwk = signingJwk();
  const clientMetadata = ({ clientId, clientSecret }, extra) => ({
    client_id: clientId,
    client_secret: clientSecret,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [],
    response_types: [],
    ...extra,
  });

  const provider = new Provider(issuer, {
    adapter: createAdapterFactory(),
    jwks: { keys: [jwk] },
    cookies: { keys: ['mcp-hive-test-cookie-key-1', 'mcp-hive-test-cookie-key-2'] },
    // The resource server's scopes are registered as AS scopes too, so that
    // clients' `scope` metadata may list them (and limits what they may ask for).
    scopes: ['openid', 'offline_access', ...MCP_SCOPES],
    clients: [
      clientMetadata(CLIENTS.mcpClient, { grant_types: ['client_credentials'], scope: MCP_SCOPES.join(' ') }),
      clientMetadata(CLIENTS.mcpServer, { grant_types: [] }),
      clientMetadata(CLIENTS.otherClient, { grant_types: ['client_credentials'], scope: MCP_SCOPES.join(' ') }),
    ],
    clientBasedCORS: () => false,
    // client_credentials never needs an account; keep the default's warning quiet.
    findAccount: async () => undefined,
    ttl: {
      AccessToken: ttl,
      ClientCredentials: ttl,
      Grant: ttl,
      Session: ttl,
      Interaction: 600,
      IdToken: 600,
      RefreshToken: ttl,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Only the MCP server may introspect, and only tokens issued for the
        // MCP resource (the default policy lets any confidential client
        // introspect any token and prints a "you SHOULD change it" notice).
        allowedPolicy: async (_ctx, client, token) =>
          client.clientId === CLIENTS.mcpServer.clientId &&
          token.aud !== undefined &&
          [token.aud].flat().includes(mcpResource()),
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => mcpResource(),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          const resource = mcpResource();
          if (!resource || resourceIndicator !== resource) {
            throw new errors.InvalidTarget(`unknown resource indicator ${resourceIndicator}`);
          }
          return {
            scope: MCP_SCOPES.join(' '),
            audience: resourceIndicator,
            accessTokenTTL: ttl,
            accessTokenFormat,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });
  handler = provider.callback();

  const urls = {
    tokenUrl: `${issuer}/token`,
    introspectionUrl: `${issuer}/token/introspection`,
    revocationUrl: `${issuer}/token/revocation`,
    jwksUrl: `${issuer}/jwks`,
    metadataUrl: `${issuer}/.well-known/oauth-authorization-server`,
    openidConfigurationUrl: `${issuer}/.well-known/openid-configuration`,
  };

  return {
    issuer,
    port,
    accessTokenFormat,
    ...urls,
    clients: CLIENTS,
    kid: jwk.kid,
    provider,
    setResource(resource) {
      resourceSource = resource;
    },
    get resource() {
      return mcpResource();
    },
    /**
     * A raw client_credentials token request (client_secret_basic).
     * Resolves to the token response JSON; rejects on a non-2xx answer.
     */
    async clientCredentialsToken(client, { scope = 'mcp:tools', resource = mcpResource() } = {}) {
      const body = new URLSearchParams({ grant_type: 'client_credentials' });
      if (scope) body.set('scope', scope);
      if (resource) body.set('resource', resource);
      const res = await fetch(urls.tokenUrl, {
        method: 'POST',
        headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      const json = await res.json();
      if (!res.ok) throw new Error(`token request failed: ${res.status} ${JSON.stringify(json)}`);
      return json;
    },
    /** Introspect a token as `client` (default: the MCP server's client). */
    async introspect(token, client = CLIENTS.mcpServer) {
      const res = await fetch(urls.introspectionUrl, {
        method: 'POST',
        headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      });
      const json = await res.json();
      if (!res.ok) throw new Error(`introspection failed: ${res.status} ${JSON.stringify(json)}`);
      return json;
    },
    async stop() {
      httpServer.closeAllConnections?.();
      await new Promise((resolve) => httpServer.close(() => resolve()));
    },
  };
}

/** RFC 6749 §2.3.1: client_id and secret are form-urlencoded before base64. */
export function basicAuth({ clientId, clientSecret }) {
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}
