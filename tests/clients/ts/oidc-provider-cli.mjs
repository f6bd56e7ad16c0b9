#!/usr/bin/env node
// Run the oidc-provider test authorization server (oidc-provider.mjs) as a
// process, for tests written in other languages (tests/clients/python):
//
//   node tests/clients/ts/oidc-provider-cli.mjs --format jwt|opaque [--resource <url>]
//
// Prints exactly one JSON line on stdout once it listens:
//   {"issuer", "tokenUrl", "introspectionUrl", "jwksUrl", "metadataUrl", "format", "resource",
//    "clients": {"mcpClient": {"clientId", "clientSecret"}, "mcpServer": {...}, "otherClient": {...}}}
// then serves until SIGTERM/SIGINT (or until stdin closes, with --exit-on-stdin-eof).
// Everything else goes to stderr. The resource (the MCP server's
// http://127.0.0.1:<port>/mcp) may also be set later by writing a line
// `resource <url>` to stdin, for when the MCP server starts after the AS; it is
// acknowledged with the stdout line {"resource": "<url>"} once in effect.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

// oidc-provider prints its notices with console.info/console.log: keep stdout for the JSON line.
console.log = console.error;
console.info = console.error;

const { startAuthorizationServer } = await import('./oidc-provider.mjs');

const { values } = parseArgs({
  options: {
    format: { type: 'string', default: 'jwt' },
    resource: { type: 'string' },
    'exit-on-stdin-eof': { type: 'boolean', default: false },
  },
  strict: true,
});

let resource = values.resource;
const as = await startAuthorizationServer({ accessTokenFormat: values.format, resource: () => resource });

process.stdout.write(
  `${JSON.stringify({
    issuer: as.issuer,
    tokenUrl: as.tokenUrl,
    introspectionUrl: as.introspectionUrl,
    jwksUrl: as.jwksUrl,
    metadataUrl: as.metadataUrl,
    format: as.accessTokenFormat,
    resource: resource ?? null,
    clients: as.clients,
  })}\n`,
);

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const m = /^resource\s+(\S+)\s*$/.exec(line);
  if (m) {
    resource = m[1];
    process.stdout.write(`${JSON.stringify({ resource })}\n`);
  }
});
rl.on('close', () => {
  if (values['exit-on-stdin-eof']) shutdown();
});

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  await as.stop().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
