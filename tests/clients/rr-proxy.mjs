#!/usr/bin/env node
// A tiny round-robin HTTP reverse proxy for testing several `mcp-hive serve`
// replicas behind one URL, with NO stickiness: request k goes to upstream
// k mod n, whatever its session, connection or stream.
//
//   node rr-proxy.mjs <listenPort|0> <upstream1> <upstream2> ...
//
// Upstreams are base URLs (http://127.0.0.1:1234); the request path is appended
// to the upstream's path. Listens on 127.0.0.1 and prints
//   rr-proxy listening on http://127.0.0.1:<port>
// on stdout once ready. Plain Node >= 22, no dependencies.
//
// - Request and response headers (raw, in order, duplicates kept: Host, Origin,
//   Mcp-Session-Id, Last-Event-ID, MCP-Protocol-Version, Accept, ...) and the
//   response status pass through unchanged.
// - Bodies are streamed both ways (pipe), response headers are flushed as soon
//   as they arrive, so SSE flows event by event.
// - Every upstream request uses its own connection (agent: false, no
//   keep-alive pool), so it really reaches the upstream picked for it.
// - Client gone -> upstream request aborted; upstream gone -> client
//   connection destroyed (or 502 if nothing was sent yet).
// - MCP_RR_PROXY_LOG=1 logs one line per request on stderr.
import http from "node:http";

const [portArg, ...upstreamArgs] = process.argv.slice(2);
if (portArg === undefined || upstreamArgs.length === 0 || !/^\d+$/.test(portArg)) {
  console.error("usage: node rr-proxy.mjs <listenPort|0> <upstream1> <upstream2> ...");
  process.exit(2);
}
const upstreams = upstreamArgs.map((u) => {
  const url = new URL(u);
  if (url.protocol !== "http:") {
    console.error(`rr-proxy: only http:// upstreams are supported, got ${u}`);
    process.exit(2);
  }
  return url;
});
const verbose = process.env.MCP_RR_PROXY_LOG === "1";

let next = 0;
let seq = 0;

const server = http.createServer((req, res) => {
  const n = ++seq;
  const idx = next;
  next = (next + 1) % upstreams.length;
  const up = upstreams[idx];
  const basePath = up.pathname.replace(/\/$/, "");
  const t0 = Date.now();

  const upReq = http.request({
    protocol: up.protocol,
    hostname: up.hostname,
    port: up.port || 80,
    method: req.method,
    path: basePath + req.url,
    // Raw header array: sent verbatim (Host included; Node adds none of its own).
    headers: req.rawHeaders,
    agent: false,
    setHost: false,
  });

  let done = false;
  const finish = (how) => {
    if (done) return;
    done = true;
    if (verbose) {
      console.error(
        `rr-proxy #${n} ${req.method} ${req.url} -> [${idx}] ${up.host} ${how} (${Date.now() - t0}ms)` +
          (req.headers["mcp-session-id"] ? ` session=${req.headers["mcp-session-id"]}` : "") +
          (req.headers["last-event-id"] ? ` last-event-id=${req.headers["last-event-id"]}` : ""),
      );
    }
  };

  upReq.on("response", (upRes) => {
    res.writeHead(upRes.statusCode, upRes.statusMessage, upRes.rawHeaders);
    res.flushHeaders();
    upRes.pipe(res);
    upRes.on("end", () => finish(`${upRes.statusCode} done`));
    // Upstream connection lost mid-body: drop the client connection too, so
    // the client sees a broken stream rather than a clean end.
    upRes.on("close", () => {
      if (!upRes.complete) {
        finish(`${upRes.statusCode} upstream closed mid-body`);
        res.destroy();
      }
    });
    upRes.on("error", () => res.destroy());
  });

  upReq.on("error", (err) => {
    if (res.headersSent) {
      finish(`upstream error after headers: ${err.code || err.message}`);
      res.destroy();
    } else if (!res.destroyed) {
      finish(`502 (${err.code || err.message})`);
      res.writeHead(502, { "content-type": "text/plain", connection: "close" });
      res.end(`rr-proxy: upstream ${up.host} failed: ${err.message}\n`);
    }
  });

  // Client went away (request aborted, or response connection closed before
  // the response completed): abort the upstream request.
  res.on("close", () => {
    if (!res.writableFinished) {
      finish("client closed");
      upReq.destroy();
    }
  });
  req.on("error", () => upReq.destroy());

  req.pipe(upReq);
});

// Long-lived SSE responses and slow requests must not be cut by Node's defaults.
server.requestTimeout = 0;
server.headersTimeout = 60_000;
server.keepAliveTimeout = 5_000;
server.timeout = 0;

server.on("clientError", (err, socket) => {
  if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  else socket.destroy();
});

server.listen(Number(portArg), "127.0.0.1", () => {
  const { port } = server.address();
  process.stdout.write(`rr-proxy listening on http://127.0.0.1:${port}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
