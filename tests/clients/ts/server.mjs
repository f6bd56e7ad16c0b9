// Launcher for the mcp-hive binary, shared by the node client tests.
//
//   const server = await startServer({ env: { SSE_MAX_CONNECTION_SECS: '2' } });
//   server.baseUrl   // http://127.0.0.1:<port>
//   server.mcpUrl    // URL object for <base>/mcp
//   server.stderr()  // everything the server logged so far
//   await server.stop()
//
// The binary is $MCP_HIVE_BIN (relative paths are taken from the repo root),
// default target/debug/mcp-hive. It is started with HOST=127.0.0.1 PORT=0
// DISABLE_AUTH=true (unless `disableAuth: false`: then DISABLE_AUTH is not set
// at all, also not inherited from the environment) and must print exactly one
// stdout line "mcp-hive listening on http://127.0.0.1:<port>" once it accepts
// connections.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const LISTENING_RE = /^mcp-hive listening on (http:\/\/\S+)$/;
const START_TIMEOUT_MS = Number(process.env.MCP_HIVE_START_TIMEOUT_MS ?? 30_000);
const STOP_TIMEOUT_MS = 10_000;

export function serverBinary() {
  const bin = process.env.MCP_HIVE_BIN || 'target/debug/mcp-hive';
  return path.isAbsolute(bin) ? bin : path.join(REPO_ROOT, bin);
}

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Start the server and wait for its listening line.
 * @param {{env?: Record<string,string>, args?: string[], echoStderr?: boolean, disableAuth?: boolean}} [opts]
 */
export async function startServer(opts = {}) {
  const bin = serverBinary();
  if (!existsSync(bin)) {
    throw new Error(`mcp-hive binary not found at ${bin} (run cargo build, or set MCP_HIVE_BIN)`);
  }
  const env = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: '0',
    DISABLE_AUTH: 'true',
    LOG_FORMAT: process.env.LOG_FORMAT ?? 'text',
    ...opts.env,
  };
  if (opts.disableAuth === false) delete env.DISABLE_AUTH;
  const child = spawn(bin, opts.args ?? ['serve'], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);

  let stderr = '';
  let stdout = '';
  const echo = opts.echoStderr ?? process.env.MCP_HIVE_ECHO_STDERR === '1';
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

  const baseUrl = await new Promise((resolve, reject) => {
    let settled = false;
    const fail = (msg) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${msg}\n--- server stdout ---\n${stdout}\n--- server stderr ---\n${stderr.slice(-8000)}`));
    };
    const timer = setTimeout(
      () => fail(`mcp-hive did not print its listening line within ${START_TIMEOUT_MS} ms`),
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
        const m = LISTENING_RE.exec(line);
        if (m && !settled) {
          settled = true;
          clearTimeout(timer);
          resolve(m[1]);
          return;
        }
      }
    });
    child.once('error', (err) => fail(`failed to spawn ${bin}: ${err.message}`));
    exited.then(({ code, signal }) => fail(`mcp-hive exited (code ${code}, signal ${signal}) before listening`));
  });

  return {
    baseUrl,
    mcpUrl: new URL('/mcp', baseUrl),
    pid: child.pid,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const res = await exited;
      clearTimeout(timer);
      return res;
    },
  };
}
