#!/usr/bin/env bash
# Offline validation of the deployment artifacts (Dockerfile, docker-compose.yml, deploy/, the
# Helm chart k8s/mcp-hive). No cluster, no Docker engine, no network: only the tools that
# scripts/install-test-deps.sh puts in .tools/ (helm, docker compose, .tools/venv-deploy) and
# Debian's nginx.
#
#   bash scripts/validate-deploy.sh
#
# 1. Helm: `helm lint --strict` and `helm template` with the default values and every
#    k8s/mcp-hive/ci/*-values.yaml; each render checked by kubernetes-validate --strict against
#    the oldest and newest Kubernetes the chart supports, and by deploy/validate/checks.py
#    (security context, drain budget, no stickiness, only MCP routes on the Ingress, ...).
# 2. Negative renders that MUST fail (the schema and the template checks bite): a bogus auth
#    mode, negative replicas, several replicas without Redis or without a state key, ...
# 3. The server's config.toml of every render, and the compose services' settings, loaded by the
#    real binary (target/debug/mcp-hive, or MCP_HIVE_BIN): it must start (loopback, port 0).
# 4. docker-compose.yml (+ deploy/compose.keycloak.yml): the compose-spec schema
#    (check-jsonschema), `docker compose config`, and checks.py (one state key, loopback ports,
#    nginx upstreams = replicas, issuer hostnames).
# 5. nginx: `nginx -t` and a smoke run of deploy/nginx/nginx.conf against two loopback stand-in
#    replicas (round-robin, headers, routes, SSE, retry on refused connections).
# 6. Dockerfile (hadolint + checks.py), the Keycloak realm, and shellcheck of the deploy scripts.
#
# Output and logs: target/validate-deploy/. Ends with "N passed, N failed".
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

OUT="$REPO_ROOT/target/validate-deploy"
rm -rf "$OUT"
mkdir -p "$OUT"
CHART="k8s/mcp-hive"
# The chart's kubeVersion floor and the newest schema kubernetes-validate ships.
K8S_VERSIONS="${K8S_VERSIONS:-1.25.0 1.37.0}"
PY="$DEPLOY_VENV/bin/python"
CHECKS="deploy/validate/checks.py"

passed=0
failed=0
failures=()
n=0
newlog() { # sets $log to a fresh log file (no subshell, so the counter survives)
  n=$((n + 1))
  log="$(printf '%s/%03d.log' "$OUT" "$n")"
}
pass() {
  passed=$((passed + 1))
  printf '  ok    %s\n' "$1"
}
flunk() { # flunk NAME LOG [WHY]
  failed=$((failed + 1))
  failures+=("$1")
  printf '  FAIL  %s%s\n' "$1" "${3:+ ($3)}"
  [ -f "$2" ] && tail -n 40 "$2" | sed 's/^/        | /'
  return 0
}
# check NAME CMD...: CMD must succeed.
check() {
  local name="$1" log
  shift
  newlog
  if "$@" >"$log" 2>&1; then pass "$name"; else flunk "$name" "$log" "exit $?"; fi
}
# expect_fail NAME REGEX CMD...: CMD must fail, and say REGEX (so it fails for the right reason).
expect_fail() {
  local name="$1" pattern="$2" log
  shift 2
  newlog
  if "$@" >"$log" 2>&1; then
    flunk "$name" "$log" "succeeded but must fail"
  elif grep -Eq -- "$pattern" "$log"; then
    pass "$name"
  else
    flunk "$name" "$log" "failed without /$pattern/"
  fi
}

# ------------------------------------------------------------------------------------- tools
section "tools"
missing=()
[ -x "$HELM_BIN" ] || missing+=("helm ($HELM_BIN)")
[ -x "$COMPOSE_BIN" ] || missing+=("docker compose ($COMPOSE_BIN)")
for t in kubernetes-validate check-jsonschema hadolint shellcheck; do
  [ -x "$DEPLOY_VENV/bin/$t" ] || missing+=("$t ($DEPLOY_VENV/bin)")
done
if [ "${#missing[@]}" -gt 0 ]; then
  die "missing: ${missing[*]}; run: bash scripts/install-test-deps.sh"
fi
printf '  helm %s, %s, kubernetes-validate %s, check-jsonschema %s\n' \
  "$("$HELM_BIN" version --short)" "$("$COMPOSE_BIN" version)" \
  "$("$DEPLOY_VENV/bin/kubernetes-validate" --version 2>&1 | tail -n1)" \
  "$("$DEPLOY_VENV/bin/check-jsonschema" --version | awk '{print $NF}')"
HAVE_NGINX=0
[ -x /usr/sbin/nginx ] && HAVE_NGINX=1
HAVE_BIN=0
[ -x "$MCP_HIVE_BIN" ] && HAVE_BIN=1

helm_template() { # helm_template OUTFILE [ARGS...]
  local out="$1"
  shift
  "$HELM_BIN" template mcp "$CHART" --namespace mcp "$@" >"$out"
}

# Starts the binary with a settings file and/or an environment file (KEY=VALUE lines) on
# loopback port 0 and waits for its listening line; prints the server's output. The
# authorization server URLs are pointed at a closed loopback port so that nothing leaves the
# machine (the values they replace are still parsed and type-checked on the way).
run_server() { # run_server SUBCOMMAND CONFIG_OR_- ENVFILE_OR_-
  local sub="$1" conf="$2" envfile="$3" out pid line started=0
  local -a env_args=() conf_args=()
  if [ "$envfile" != - ]; then
    while IFS= read -r line; do
      [ -n "$line" ] && env_args+=("$line")
    done <"$envfile"
  fi
  [ "$conf" != - ] && conf_args=(--config "$conf")
  out="$(mktemp "$OUT/server.XXXXXX")"
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" "${env_args[@]}" \
    HOST=127.0.0.1 PORT=0 AUTH_HOST=127.0.0.1 AUTH_PORT=0 REDIS_URL= \
    OAUTH_SERVER_URL=http://127.0.0.1:9 OAUTH_INTROSPECT_URL=http://127.0.0.1:9/introspect \
    JWT_ISSUER=http://127.0.0.1:9 JWT_JWKS_URL=http://127.0.0.1:9/jwks \
    "$MCP_HIVE_BIN" "$sub" "${conf_args[@]}" >"$out" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 1 150); do
    if grep -q 'listening on http://127.0.0.1:' "$out"; then
      started=1
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  # Only the start-up is under test: no need to wait for a graceful drain.
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  cat "$out"
  rm -f "$out"
  [ "$started" = 1 ] || {
    echo "mcp-hive $sub did not print its listening line"
    return 1
  }
}

# docker compose with a clean environment (no variables that the files interpolate).
compose() {
  env -u MCP_STATE_KEY -u MCP_HIVE_CLIENT_SECRET -u AUTH_TOKEN_MODE -u AUTH_TOKEN_FORMAT \
    -u AUTH_AUTO_APPROVE -u AUTH_USERS -u LOG_FORMAT -u LOG_LEVEL -u KC_TOKEN_MODE \
    -u MCP_HIVE_IMAGE -u KEYCLOAK_ADMIN_PASSWORD -u COMPOSE_FILE -u COMPOSE_PROFILES \
    -u COMPOSE_PROJECT_NAME "$COMPOSE_BIN" "$@"
}

# ------------------------------------------------------------------------------------- helm
section "helm chart ($CHART)"
renders=(default)
check "helm lint --strict (default values)" "$HELM_BIN" lint --strict "$CHART"
check "helm template (default values)" helm_template "$OUT/render-default.yaml"
check "NOTES.txt renders (helm install --dry-run=client)" \
  "$HELM_BIN" install mcp-hive "$CHART" --namespace mcp --dry-run=client
for f in "$CHART"/ci/*-values.yaml; do
  name="$(basename "$f" .yaml)"
  renders+=("$name")
  check "helm lint --strict -f ci/$name.yaml" "$HELM_BIN" lint --strict "$CHART" -f "$f"
  check "helm template -f ci/$name.yaml" helm_template "$OUT/render-$name.yaml" -f "$f"
  check "NOTES.txt renders (helm install --dry-run=client -f ci/$name.yaml)" \
    "$HELM_BIN" install mcp-hive "$CHART" --namespace mcp --dry-run=client -f "$f"
done
for r in "${renders[@]}"; do
  file="$OUT/render-$r.yaml"
  [ -s "$file" ] || continue
  for k in $K8S_VERSIONS; do
    check "kubernetes-validate --strict -k $k ($r)" \
      "$DEPLOY_VENV/bin/kubernetes-validate" --strict --quiet -k "$k" "$file"
  done
  check "rendered objects keep the chart's promises ($r)" "$PY" "$CHECKS" chart "$file" "$r"
  if [ "$HAVE_BIN" = 1 ]; then
    "$PY" "$CHECKS" config-toml "$file" >"$OUT/config-$r.toml"
    check "mcp-hive serve starts with the rendered config.toml ($r)" \
      run_server serve "$OUT/config-$r.toml" -
  fi
done
[ "$HAVE_BIN" = 1 ] || printf '  note  %s not built: rendered settings not loaded by the server (run cargo build)\n' "$MCP_HIVE_BIN"

section "helm chart: renders that must fail"
KEY="bWNwLWhpdmUtZGVtby1zdGF0ZS1rZXktQ0hBTkdFTUU="
expect_fail "auth.mode=bogus is refused by the schema" 'auth/mode' \
  helm_template /dev/null --set auth.mode=bogus
expect_fail "replicaCount=-1 is refused by the schema" 'replicaCount' \
  helm_template /dev/null --set replicaCount=-1
expect_fail "3 replicas without Redis fail" 'needs Redis' \
  helm_template /dev/null --set replicaCount=3
expect_fail "autoscaling without Redis fails" 'needs Redis' \
  helm_template /dev/null --set autoscaling.enabled=true
expect_fail "3 replicas on Redis without a state key fail" 'stateKey is required' \
  helm_template /dev/null --set replicaCount=3 --set redis.mode=bundled
expect_fail "a state key that is not 32 bytes of base64 is refused" 'stateKey' \
  helm_template /dev/null --set stateKey=not-a-key
expect_fail "terminationGracePeriodSeconds not above the drain fails" 'terminationGracePeriodSeconds' \
  helm_template /dev/null --set terminationGracePeriodSeconds=15
expect_fail "redis.mode=external without a URL fails" 'redis.external.url' \
  helm_template /dev/null --set redis.mode=external
expect_fail "a secret in config: (store.redis_url) is refused" 'redis_url' \
  helm_template /dev/null --set config.store.redis_url=redis://x:6379
expect_fail "a secret in config: (protocol.state_key) is refused" 'state_key' \
  helm_template /dev/null --set config.protocol.state_key=$KEY
expect_fail "an unknown config section is refused" "additional properties 'sever'" \
  helm_template /dev/null --set config.sever.port=1
expect_fail "an unknown top-level value is refused" "additional properties 'replicas'" \
  helm_template /dev/null --set replicas=3
expect_fail "existingSecret together with stateKey fails" 'existingSecret' \
  helm_template /dev/null --set existingSecret=s --set stateKey=$KEY
expect_fail "introspection clientId without a secret fails" 'clientSecret' \
  helm_template /dev/null --set auth.introspection.clientId=mcp-hive
expect_fail "a publicUrl without scheme is refused" 'publicUrl' \
  helm_template /dev/null --set publicUrl=mcp.example.com
expect_fail "ingress.pathType=bogus is refused" 'pathType' \
  helm_template /dev/null --set ingress.pathType=bogus

# ------------------------------------------------------------------------------------- compose
section "docker compose"
check "compose-spec schema: docker-compose.yml, deploy/compose.keycloak.yml" \
  "$DEPLOY_VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml deploy/compose.keycloak.yml
check "docker compose config -q" compose -f docker-compose.yml config -q
check "docker compose config -q (+ compose.keycloak.yml, profile keycloak)" \
  compose -f docker-compose.yml -f deploy/compose.keycloak.yml --profile keycloak config -q
expect_fail "compose.keycloak.yml without the keycloak profile is refused" 'keycloak' \
  compose -f docker-compose.yml -f deploy/compose.keycloak.yml config -q
compose_json() { # compose_json OUT ARGS...
  local out="$1"
  shift
  compose "$@" config --format json >"$out"
}
check "docker compose config --format json" compose_json "$OUT/compose.json" -f docker-compose.yml
check "docker compose config --format json (keycloak)" compose_json "$OUT/compose-keycloak.json" \
  -f docker-compose.yml -f deploy/compose.keycloak.yml --profile keycloak
check "compose: replicas, balancer, ports and issuers agree" "$PY" "$CHECKS" compose "$OUT/compose.json" deploy/nginx/nginx.conf
check "compose + keycloak: replicas, balancer, ports and issuers agree" "$PY" "$CHECKS" compose "$OUT/compose-keycloak.json" deploy/nginx/nginx.conf
if [ "$HAVE_BIN" = 1 ] && [ -s "$OUT/compose.json" ]; then
  for cfg in compose compose-keycloak; do
    "$PY" "$CHECKS" compose-env "$OUT/$cfg.json" mcp-1 >"$OUT/$cfg-mcp-1.env"
    check "mcp-hive serve starts with the mcp-1 environment ($cfg)" \
      run_server serve - "$OUT/$cfg-mcp-1.env"
  done
  "$PY" "$CHECKS" compose-env "$OUT/compose.json" auth >"$OUT/compose-auth.env"
  "$PY" "$CHECKS" compose-config "$OUT/compose.json" authserver >"$OUT/compose-authserver.toml"
  check "mcp-hive auth starts with the auth service's settings and config" \
    run_server auth "$OUT/compose-authserver.toml" "$OUT/compose-auth.env"
fi

# ------------------------------------------------------------------------------------- nginx
section "nginx (deploy/nginx/nginx.conf)"
if [ "$HAVE_NGINX" = 1 ]; then
  check "nginx -t and a smoke run against two loopback replicas" \
    "$PY" "$CHECKS" nginx-smoke deploy/nginx/nginx.conf
else
  printf '  note  /usr/sbin/nginx not installed: skipped (bash scripts/install-test-deps.sh installs it)\n'
fi

# ------------------------------------------------------------------------------------- the rest
section "Dockerfile, Keycloak realm, scripts"
check "hadolint Dockerfile" "$DEPLOY_VENV/bin/hadolint" Dockerfile
check "Dockerfile and .dockerignore agree with Cargo.toml" "$PY" "$CHECKS" dockerfile Dockerfile .dockerignore Cargo.toml
check "Keycloak realm deploy/keycloak/realm-mcp.json" "$PY" "$CHECKS" realm deploy/keycloak/realm-mcp.json
check "shellcheck scripts/validate-deploy.sh" "$DEPLOY_VENV/bin/shellcheck" -x scripts/validate-deploy.sh

section "validate-deploy summary"
if [ "$failed" -gt 0 ]; then
  printf 'failed:\n'
  printf '  - %s\n' "${failures[@]}"
fi
printf 'logs: %s\n' "${OUT#"$REPO_ROOT"/}"
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
