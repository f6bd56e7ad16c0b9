#!/usr/bin/env bash
# Runs the MCP conformance suite's server scenarios against mcp-hive.
#
# Starts the server itself (PORT=0, MCP_CONFORMANCE_FIXTURES=true,
# DISABLE_AUTH=true), then runs, one scenario at a time, every server scenario
# whose applicability includes a session-era revision (2025-06-18, 2025-11-25),
# for both suite versions installed in tests/clients/node_modules:
#   0.1.16          its `server` command takes --spec-version only as a filter; its
#                   client always negotiates its SDK's latest protocol (2025-11-25),
#                   so each applicable scenario runs once (listed under 2025-11-25;
#                   the 2025-06-18 list is a subset of it).
#   0.2.0-alpha.12  runs each scenario at the wire version it is given:
#                   --spec-version 2025-06-18 and --spec-version 2025-11-25
#                   (omitted, it would pick the stateless 2026-07-28 for some).
# The stateless revision 2026-07-28 (suite 0.2.0-alpha.12 only) is one more wire version of
# both runs: its scenarios are what `list --requirements 2026-07-28` names for servers --
# the required ones, the "pending" ones (http-header-validation, http-custom-header-server-
# validation, json-schema-2020-12) and the tasks extension's (tasks-*), which the suite runs
# but does not score and reports SKIPPED at --spec-version unless given --force (so they get it)
# -- each run with --spec-version 2026-07-28 (the suite's `--requirements`
# mode runs a fixed list and cannot be combined with --scenario, so the list is taken from it).
# Then the replicated run: CONFORMANCE_REPLICAS (default 2) `mcp-hive serve`
# replicas sharing one temporary redis-server (REDIS_URL), behind
# tests/clients/rr-proxy.mjs, a strict round-robin HTTP proxy with no
# stickiness (request k goes to replica k mod N, whatever its session or
# stream), and the same 2025-11-25 scenario selection again, against
# http://localhost:<proxy port>/mcp; its rows are labelled "<suite> xN".
# Then the authorization-server run (suite 0.2.0-alpha.12 only; 0.1.16 has no `authorization`
# command): `mcp-hive auth` with AUTH_AUTO_APPROVE=true and a public static client (temporary
# config file, redirect URI http://127.0.0.1:<free port>/callback), once per token format
# (opaque, jwt) and per spec version, runs every scenario of `authorization` (listed with
# `list --authorization --spec-version`): authorization-server-metadata-endpoint and
# authorization-code-grant. The latter is meant for a person with a browser; here a small
# headless "browser" reads the authorization URL the suite prints, waits for its callback
# server and fetches the URL (redirect: 'follow'): the auto-approving /authorize redirects
# to the suite's callback with the code. Rows are labelled "0.2.0-alpha.12 auth-<format>".
# No expected-failures baseline: any failing scenario fails the script.
#
# Env knobs:
#   MCP_HIVE_BIN                  server binary (default target/debug/mcp-hive)
#   CONFORMANCE_SUITES            default "0.1.16 0.2.0-alpha.12"
#   CONFORMANCE_SPEC_VERSIONS     default "2025-06-18 2025-11-25 2026-07-28"
#   CONFORMANCE_SCENARIOS         only run these scenarios (space-separated)
#   CONFORMANCE_RESULTS_DIR       default target/conformance (wiped per run)
#   CONFORMANCE_SCENARIO_TIMEOUT  seconds per scenario process, default 180
#   CONFORMANCE_REPLICAS          replicas in the replicated run, default 2;
#                                 0 or 1 skips it
#   CONFORMANCE_REPLICA_SPEC_VERSIONS  wire versions of the replicated run,
#                                 default "2025-11-25 2026-07-28"
#   CONFORMANCE_SINGLE            0 skips the single-replica run, default 1
#   MCP_RR_PROXY_LOG              default 1: the proxy logs every request to
#                                 replicated-*/proxy.stderr; 0 silences it
#   CONFORMANCE_AUTHSERVER        0 skips the authorization-server run, default 1
#   CONFORMANCE_AUTH_TOKEN_FORMATS  token formats of that run, default "opaque jwt"
set -uo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SUITES="${CONFORMANCE_SUITES:-0.1.16 0.2.0-alpha.12}"
SPECS="${CONFORMANCE_SPEC_VERSIONS:-2025-06-18 2025-11-25 2026-07-28}"
MODERN=2026-07-28 # the stateless revision: its scenario list comes from --requirements
FORCED=""         # scenarios run with --force (the extension ones of the modern revision)
ONLY="${CONFORMANCE_SCENARIOS:-}"
RESULTS_DIR="${CONFORMANCE_RESULTS_DIR:-$REPO_ROOT/target/conformance}"
SCENARIO_TIMEOUT="${CONFORMANCE_SCENARIO_TIMEOUT:-180}"
REPLICAS="${CONFORMANCE_REPLICAS:-2}"
REPLICA_SPECS="${CONFORMANCE_REPLICA_SPEC_VERSIONS:-2025-11-25 2026-07-28}"
SINGLE="${CONFORMANCE_SINGLE:-1}"
AUTHSERVER="${CONFORMANCE_AUTHSERVER:-1}"
AUTH_FORMATS="${CONFORMANCE_AUTH_TOKEN_FORMATS:-opaque jwt}"
AS_SUITE=0.2.0-alpha.12 # the first suite with an `authorization` command
RR_PROXY="$CLIENTS_DIR/rr-proxy.mjs"
case "$REPLICAS" in '' | *[!0-9]*) die "CONFORMANCE_REPLICAS must be a number, got '$REPLICAS'" ;; esac
if [ "$REPLICAS" -ge 2 ]; then
  command -v redis-server >/dev/null 2>&1 ||
    die "redis-server not found (run scripts/install-test-deps.sh, or CONFORMANCE_REPLICAS=0)"
  [ -f "$RR_PROXY" ] || die "missing $RR_PROXY"
fi

[ "$(node_major node)" -ge "$NODE_MIN_MAJOR" ] ||
  die "node on PATH is $(node --version 2>/dev/null || echo none); need >= $NODE_MIN_MAJOR (run scripts/install-test-deps.sh)"

suite_dir() {
  case "$1" in
    0.1.16) echo "$CLIENTS_DIR/node_modules/conformance-0-1-16" ;;
    0.2.0-alpha.12) echo "$CLIENTS_DIR/node_modules/conformance-0-2-0" ;;
    *) die "unknown conformance suite version '$1' (add it to tests/clients/package.json and suite_dir())" ;;
  esac
}
# Does this suite pass --spec-version through to the wire?
suite_has_wire_versions() { [ "$1" != 0.1.16 ]; }

for suite in $SUITES; do
  d="$(suite_dir "$suite")"
  [ -f "$d/dist/index.js" ] || die "conformance $suite not installed at $d (run scripts/install-test-deps.sh)"
  got="$(node -p "require('$d/package.json').version")"
  [ "$got" = "$suite" ] || die "expected conformance $suite at $d, found $got"
done

rm -rf "$RESULTS_DIR"
mkdir -p "$RESULTS_DIR"
RESULTS_TSV="$RESULTS_DIR/results.tsv"
: >"$RESULTS_TSV"

# One requestState key for every replica: a multi round-trip request continues on any of them.
SERVER_ENV=(MCP_CONFORMANCE_FIXTURES=true DISABLE_AUTH=true
  MCP_STATE_KEY="$(head -c 32 /dev/urandom | base64)")

# The server(s) the scenarios run against. MODE is "single" (one server,
# MCP_HIVE_PID) or "replicated" (REPLICA_PIDS behind PROXY_PID, on REDIS_PID);
# TARGET_URL is the base URL the suites are pointed at.
MODE=""
TARGET_URL=""
TARGET_LOGS=""
REPLICA_PIDS=()
PROXY_PID=""
REDIS_PID=""
REDIS_DIR=""
REDIS_URL_=""
generation=0

# stop_pids PID... : SIGTERM all, SIGKILL whatever is left after 10s, reap.
stop_pids() {
  local pid i alive
  [ "$#" -gt 0 ] || return 0
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 1 100); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "$@"; do
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid ignored SIGTERM for 10s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}

free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

redis_pong() { # PORT -> 0 if it answers PING
  local r=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  read -r -t 2 r <&3 || true
  exec 3<&- 3>&-
  [ "${r%$'\r'}" = "+PONG" ]
}

# A throwaway redis-server: free loopback port, temporary --dir, no persistence.
start_redis() { # LOGFILE
  local logf="$1" attempt port i
  REDIS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/mcp-hive-conformance-redis.XXXXXX")"
  for attempt in 1 2 3 4 5; do
    port="$(free_port)" || die "could not pick a free port"
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --dir "$REDIS_DIR" >>"$logf" 2>&1 </dev/null &
    REDIS_PID=$!
    for i in $(seq 1 100); do
      kill -0 "$REDIS_PID" 2>/dev/null || break
      if redis_pong "$port"; then
        sleep 0.05
        # Only ours counts (a PONG from someone else's Redis on a reused port does not).
        if kill -0 "$REDIS_PID" 2>/dev/null; then
          REDIS_URL_="redis://127.0.0.1:$port"
          return 0
        fi
        break
      fi
      sleep 0.1
    done
    stop_pids "$REDIS_PID"
    REDIS_PID=""
    log "redis-server did not come up on port $port (attempt $attempt)"
  done
  tail -n 20 "$logf" >&2
  die "could not start redis-server (log: $logf)"
}

stop_redis() {
  [ -n "$REDIS_PID" ] && stop_pids "$REDIS_PID"
  REDIS_PID=""
  [ -n "$REDIS_DIR" ] && rm -rf "$REDIS_DIR"
  REDIS_DIR=""
}

start_single() {
  generation=$((generation + 1))
  MODE=single
  start_mcp_hive "$RESULTS_DIR/server-$generation" "${SERVER_ENV[@]}"
  TARGET_URL="$MCP_HIVE_URL"
  TARGET_LOGS="${MCP_HIVE_STDERR#"$REPO_ROOT"/}"
  log "server pid $MCP_HIVE_PID listening on $MCP_HIVE_URL (log: $TARGET_LOGS)"
}

start_replicated() {
  local dir i upstreams=() out line port deadline
  generation=$((generation + 1))
  MODE=replicated
  dir="$RESULTS_DIR/replicated-$generation"
  mkdir -p "$dir"
  if [ -z "$REDIS_PID" ] || ! kill -0 "$REDIS_PID" 2>/dev/null; then
    stop_redis
    start_redis "$dir/redis.log"
    log "redis-server pid $REDIS_PID on $REDIS_URL_ (dir $REDIS_DIR)"
  fi
  REPLICA_PIDS=()
  for i in $(seq 1 "$REPLICAS"); do
    start_mcp_hive "$dir/replica-$i" "${SERVER_ENV[@]}" REDIS_URL="$REDIS_URL_"
    REPLICA_PIDS+=("$MCP_HIVE_PID")
    MCP_HIVE_PID=""
    upstreams+=("$MCP_HIVE_URL")
    log "replica $i: pid ${REPLICA_PIDS[-1]} listening on $MCP_HIVE_URL (log: ${dir#"$REPO_ROOT"/}/replica-$i/server.stderr)"
  done
  out="$dir/proxy.stdout"
  : >"$out"
  MCP_RR_PROXY_LOG="${MCP_RR_PROXY_LOG:-1}" node "$RR_PROXY" 0 "${upstreams[@]}" \
    >"$out" 2>"$dir/proxy.stderr" </dev/null &
  PROXY_PID=$!
  deadline=$((SECONDS + 15))
  port=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    line="$(grep -m1 -E '^rr-proxy listening on http://127\.0\.0\.1:[0-9]+$' "$out" 2>/dev/null || true)"
    if [ -n "$line" ]; then
      port="${line##*:}"
      break
    fi
    kill -0 "$PROXY_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    cat "$dir/proxy.stderr" >&2
    die "rr-proxy did not start"
  fi
  # localhost, not 127.0.0.1: dns-rebinding-protection derives its valid Host from it.
  TARGET_URL="http://localhost:$port"
  TARGET_LOGS="${dir#"$REPO_ROOT"/}/{replica-*/server.stderr,proxy.stderr,redis.log}"
  log "rr-proxy pid $PROXY_PID: $TARGET_URL -> ${upstreams[*]} (round-robin, no stickiness)"
}

target_alive() {
  local pid
  case "$MODE" in
    single) kill -0 "$MCP_HIVE_PID" 2>/dev/null ;;
    replicated)
      for pid in "${REPLICA_PIDS[@]}" "$PROXY_PID" "$REDIS_PID"; do
        kill -0 "$pid" 2>/dev/null || return 1
      done
      ;;
    *) return 1 ;;
  esac
}

stop_target() {
  stop_mcp_hive
  stop_pids "${REPLICA_PIDS[@]}" ${PROXY_PID:+"$PROXY_PID"}
  REPLICA_PIDS=()
  PROXY_PID=""
}

restart_target() {
  local mode="$MODE"
  stop_target
  case "$mode" in
    single) start_single ;;
    replicated) start_replicated ;;
  esac
}

# The authorization server of the authorization-server run (`mcp-hive auth`).
AS_PID=""
AS_ISSUER=""
AS_LOGS=""

stop_authserver() {
  if [ -n "${AS_PID:-}" ]; then stop_pids "$AS_PID"; fi
  AS_PID=""
}

cleanup() {
  stop_target
  stop_redis
  stop_authserver
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# list_scenarios SUITE SPEC -> scenario names applicable at SPEC
list_scenarios() {
  local d
  d="$(suite_dir "$1")"
  node "$d/dist/index.js" list --server --spec-version "$2" |
    sed -n 's/^  - \([^ ]*\)\( \[\(.*\)\]\)\{0,1\}$/\1 \3/p' |
    while read -r name applies; do
      # The filter is "cumulative"; keep only scenarios that name SPEC.
      case ",$applies," in *",$2,"*) echo "$name" ;; esac
    done
}

# list_requirements SUITE REVISION -> every server scenario the revision's frozen requirement
# set names: required, pending and extension ones (the client and authorization ones are not
# for a server under test).
# list_extensions SUITE REVISION -> the extension scenarios among them (tasks-*): the suite
# reports them SKIPPED at --spec-version unless --force is given, so they are run with it.
list_extensions() {
  node "$(suite_dir "$1")/dist/index.js" list --requirements "$2" | awk '
    /^  extension/ { ext = 1; next }
    /^  [^ ]/ { ext = 0 }
    ext && /^    - .* \[server\]$/ { print $2 }
  '
}

list_requirements() {
  local d
  d="$(suite_dir "$1")"
  node "$d/dist/index.js" list --requirements "$2" | awk '
    /^Server scenarios/ { server = 1; next }
    /^[^ ]/ { server = 0 }
    server && /^  - / { print $2; next }
    /^    - .* \[server\]$/ { print $2 }
  '
}

# Summarise one scenario's checks.json: "<passed> <failed> <warnings>" and, on
# stderr-ish second part, the failed checks. Prints to stdout.
summarise_checks() {
  node -e '
    const fs = require("fs");
    const checks = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const n = (s) => checks.filter((c) => c.status === s).length;
    console.log(`${n("SUCCESS")} ${n("FAILURE")} ${n("WARNING")}`);
    for (const c of checks.filter((c) => c.status === "FAILURE"))
      console.log(`      FAILED ${c.id}: ${c.name}${c.errorMessage ? " - " + String(c.errorMessage).replace(/\s+/g, " ").slice(0, 400) : ""}`);
  ' "$1"
}

run_scenario() { # SUITE LABEL SPEC(label) SPEC_ARG(or "") SCENARIO
  local suite="$1" label="$2" spec="$3" spec_arg="$4" sc="$5" d outdir logf rc result checks stats detail
  d="$(suite_dir "$suite")"
  outdir="$RESULTS_DIR/${label// /-}/$spec/$sc"
  mkdir -p "$outdir"
  logf="$outdir/run.log"
  local args=(server --url "$TARGET_URL/mcp" --scenario "$sc" -o "$outdir")
  [ -n "$spec_arg" ] && args+=(--spec-version "$spec_arg")
  case " $FORCED " in *" $sc "*) args+=(--force) ;; esac
  local t0=$SECONDS
  timeout --kill-after=10 "$SCENARIO_TIMEOUT" node "$d/dist/index.js" "${args[@]}" >"$logf" 2>&1
  rc=$?
  checks="$(ls -d "$outdir"/server-*/checks.json 2>/dev/null | head -n1)"
  stats="- - -"
  detail=""
  if [ -n "$checks" ]; then
    detail="$(summarise_checks "$checks" 2>&1)"
    stats="$(head -n1 <<<"$detail")"
    detail="$(tail -n +2 <<<"$detail")"
  fi
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    result=TIMEOUT
  elif [ "$rc" = 0 ] && grep -q '^SKIPPED: ' "$logf"; then
    result=SKIPPED
  elif [ "$rc" = 0 ]; then
    result=PASS
  else
    result=FAIL
  fi
  if ! target_alive; then
    log "a $MODE-mode process (server, replica, proxy or redis) died during $label/$spec/$sc; see $TARGET_LOGS; restarting"
    [ "$result" = PASS ] && result=FAIL
    detail="${detail:+$detail
}      server process exited during this scenario"
    restart_target
  fi
  read -r passed failed warnings <<<"$stats"
  printf '%-8s %-18s %-11s %-36s checks %s passed, %s failed, %s warnings (%ss)\n' \
    "$result" "$label" "$spec" "$sc" "$passed" "$failed" "$warnings" "$((SECONDS - t0))"
  if [ "$result" != PASS ]; then
    [ -n "$detail" ] && printf '%s\n' "$detail"
    if [ -z "$checks" ] || [ "$result" = TIMEOUT ]; then
      echo "      (exit $rc; last lines of ${logf#"$REPO_ROOT"/}:)"
      tail -n 15 "$logf" | sed 's/^/      | /'
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$spec" "$sc" "$result" "$passed" "$failed" \
    "$warnings" "${checks#"$REPO_ROOT"/}" "${logf#"$REPO_ROOT"/}" >>"$RESULTS_TSV"
}

selected() { [ -z "$ONLY" ] || case " $ONLY " in *" $1 "*) true ;; *) false ;; esac; }

# run_suites LABEL_SUFFIX WIRE_SPECS: every suite against TARGET_URL.
run_suites() {
  local suffix="$1" wire_specs="$2" suite label spec scenarios latest sc where=""
  [ -n "$suffix" ] && where=" ($REPLICAS replicas on one Redis behind round-robin $TARGET_URL)"
  for suite in $SUITES; do
    label="$suite$suffix"
    if suite_has_wire_versions "$suite"; then
      for spec in $wire_specs; do
        section "conformance $label, --spec-version $spec$where"
        FORCED=""
        if [ "$spec" = "$MODERN" ]; then
          scenarios="$(list_requirements "$suite" "$spec")" || die "listing requirements of $suite failed"
          FORCED="$(list_extensions "$suite" "$spec" | tr '\n' ' ')"
        else
          scenarios="$(list_scenarios "$suite" "$spec")" || die "listing scenarios of $suite failed"
        fi
        [ -n "$scenarios" ] || die "no server scenarios listed by $suite for $spec"
        for sc in $scenarios; do
          selected "$sc" && run_scenario "$suite" "$label" "$spec" "$spec" "$sc"
        done
      done
    else
      # Union of the applicable scenarios, run once at the suite's own wire version.
      # (0.1.16 predates the stateless revision.)
      latest="$(printf '%s\n' $SPECS | grep -vx "$MODERN" | sort | tail -n1)" # word-split on purpose
      [ -n "$latest" ] || continue
      [[ " $wire_specs " == *" $latest "* ]] || continue # its wire version is not asked for
      section "conformance $label (wire version fixed by the suite: its SDK's latest; scenarios applicable to: $SPECS)$where"
      scenarios="$(for spec in $SPECS; do [ "$spec" = "$MODERN" ] || list_scenarios "$suite" "$spec"; done | awk '!seen[$0]++')" ||
        die "listing scenarios of $suite failed"
      [ -n "$scenarios" ] || die "no server scenarios listed by $suite"
      for sc in $scenarios; do
        selected "$sc" && run_scenario "$suite" "$label" "$latest" "" "$sc"
      done
    fi
  done
  return 0
}

if [ "$SINGLE" != 0 ]; then
  start_single
  run_suites "" "$SPECS"
  stop_target
fi

if [ "$REPLICAS" -ge 2 ]; then
  start_replicated
  run_suites " x$REPLICAS" "$REPLICA_SPECS"
  stop_target
  stop_redis
fi

# ---------------------------------------------------------------------------------------------
# Authorization server: `mcp-hive auth` against the suite's `authorization` command.
# start_authserver DIR FORMAT CONFIG: `mcp-hive auth` on a free 127.0.0.1 port, auto-approve on,
# in-memory store; sets AS_PID, AS_ISSUER (the issuer it prints) and AS_LOGS.
start_authserver() {
  local dir="$1" format="$2" config="$3" out err line deadline
  [ -x "$MCP_HIVE_BIN" ] || die "server binary not found: $MCP_HIVE_BIN"
  mkdir -p "$dir"
  out="$dir/server.stdout"
  err="$dir/server.stderr"
  : >"$out"
  : >"$err"
  env -u REDIS_URL -u ISSUER_URL -u AUTH_USERS -u MCP_HIVE_CONFIG -u ACCESS_TOKEN_TTL_SECS \
    AUTH_HOST=127.0.0.1 AUTH_PORT=0 AUTH_AUTO_APPROVE=true AUTH_TOKEN_FORMAT="$format" \
    LOG_FORMAT="${LOG_FORMAT:-text}" \
    "$MCP_HIVE_BIN" auth --config "$config" >"$out" 2>"$err" </dev/null &
  AS_PID=$!
  AS_LOGS="${err#"$REPO_ROOT"/}"
  AS_ISSUER=""
  deadline=$((SECONDS + ${MCP_HIVE_START_TIMEOUT:-30}))
  while [ "$SECONDS" -lt "$deadline" ]; do
    line="$(grep -m1 -E '^mcp-hive auth listening on http://[^ ]+ \(issuer [^ ]+\)$' "$out" 2>/dev/null || true)"
    if [ -n "$line" ]; then
      AS_ISSUER="${line##*(issuer }"
      AS_ISSUER="${AS_ISSUER%)}"
      return 0
    fi
    if ! kill -0 "$AS_PID" 2>/dev/null; then
      cat "$out" >&2
      tail -n 50 "$err" >&2
      die "mcp-hive auth exited before it was listening"
    fi
    sleep 0.1
  done
  stop_authserver
  tail -n 50 "$err" >&2
  die "mcp-hive auth did not print its listening line within ${MCP_HIVE_START_TIMEOUT:-30}s"
}

# list_as_scenarios SUITE SPEC -> authorization-server scenarios applicable at SPEC
list_as_scenarios() {
  node "$(suite_dir "$1")/dist/index.js" list --authorization --spec-version "$2" |
    sed -n 's/^  - \([^ ]*\)\( \[\(.*\)\]\)\{0,1\}$/\1 \3/p' |
    while read -r name applies; do
      case ",$applies," in *",$2,"*) echo "$name" ;; esac
    done
}

# The headless "browser" of authorization-code-grant:
#   node -e "$AS_BROWSER_JS" LOGFILE <suite index.js> authorization ...
# runs the suite (its output appended to LOGFILE), and once it has printed the authorization
# URL and "Callback server started", fetches that URL following redirects; with auto-approve
# the authorization server answers 302 to the suite's callback, which completes the scenario.
# If the chain does not end at the callback (a login page, an error), the suite is stopped at
# once instead of waiting 5 minutes. Exits with the suite's status.
AS_BROWSER_JS='
const { spawn } = require("child_process");
const fs = require("fs");
const [logPath, ...suiteArgs] = process.argv.slice(1);
const log = fs.createWriteStream(logPath, { flags: "a" });
const note = (m) => log.write(`[headless-browser] ${m}\n`);
const child = spawn(process.execPath, suiteArgs, { stdio: ["ignore", "pipe", "pipe"] });
let wantUrl = false, authUrl = null, listening = false, fetched = false, buf = "";
function maybeFetch() {
  if (fetched || !authUrl || !listening) return;
  fetched = true;
  note(`GET ${authUrl} (redirect: follow)`);
  fetch(authUrl, { redirect: "follow", signal: AbortSignal.timeout(30000) })
    .then(async (r) => {
      const body = (await r.text()).replace(/\s+/g, " ").slice(0, 300);
      note(`-> ${r.status} from ${r.url}: ${body}`);
      const u = new URL(r.url);
      if (u.hostname !== "127.0.0.1" || u.pathname !== "/callback") {
        note("the authorization endpoint did not redirect to the callback (login page or error); stopping the suite");
        child.kill("SIGTERM");
      }
    })
    .catch((e) => {
      note(`fetch failed: ${e.cause?.message ?? e.message}; stopping the suite`);
      child.kill("SIGTERM");
    });
}
child.stdout.setEncoding("utf8");
child.stdout.on("data", (chunk) => {
  log.write(chunk);
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, nl).replace(/\r$/, "");
    buf = buf.slice(nl + 1);
    if (line.startsWith("Access the following URL in your browser")) wantUrl = true;
    else if (wantUrl && /^https?:\/\/\S+$/.test(line)) { authUrl = line; wantUrl = false; }
    else if (line.startsWith("Callback server started: ")) listening = true;
    maybeFetch();
  }
});
child.stderr.setEncoding("utf8");
child.stderr.on("data", (chunk) => log.write(chunk));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => { child.kill("SIGTERM"); setTimeout(() => process.exit(143), 2000).unref(); });
child.on("exit", (code, signal) => {
  if (signal) note(`suite ended by ${signal}`);
  log.end(() => process.exit(code ?? 1));
});
'

# run_as_suite SUITE LABEL SPEC CLIENT_ID CALLBACK_PORT SCENARIOS...: one suite run (all its
# authorization scenarios, in its order: code grant needs the metadata scenario's result),
# then one results row per selected scenario.
run_as_suite() {
  local suite="$1" label="$2" spec="$3" client_id="$4" cb_port="$5" d outdir logf rc t0 sc checks stats detail result
  shift 5
  d="$(suite_dir "$suite")"
  outdir="$RESULTS_DIR/${label// /-}/$spec"
  mkdir -p "$outdir"
  logf="$outdir/run.log"
  : >"$logf"
  t0=$SECONDS
  timeout --kill-after=10 "$SCENARIO_TIMEOUT" node -e "$AS_BROWSER_JS" "$logf" "$d/dist/index.js" authorization \
    --url "$AS_ISSUER" --client-id "$client_id" --port "$cb_port" --resource "http://localhost:3000/mcp" \
    --spec-version "$spec" -o "$outdir"
  rc=$?
  if ! kill -0 "$AS_PID" 2>/dev/null; then
    log "mcp-hive auth died during $label/$spec; see $AS_LOGS"
  fi
  for sc in "$@"; do
    selected "$sc" || continue
    checks="$(ls -d "$outdir"/authorization-server-"$sc"-*/checks.json 2>/dev/null | head -n1)"
    stats="- - -"
    detail=""
    if [ -n "$checks" ]; then
      detail="$(summarise_checks "$checks" 2>&1)"
      stats="$(head -n1 <<<"$detail")"
      detail="$(tail -n +2 <<<"$detail")"
    fi
    read -r passed failed warnings <<<"$stats"
    if [ -z "$checks" ]; then
      if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then result=TIMEOUT; else result=FAIL; fi
    elif [ "$failed" != 0 ]; then
      result=FAIL
    elif [ "$passed" = 0 ] && node -e 'process.exit(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).every((c) => c.status === "SKIPPED") ? 0 : 1)' "$checks"; then
      result=SKIPPED
    elif [ "$passed" = 0 ]; then
      result=FAIL
    else
      result=PASS
    fi
    if ! kill -0 "$AS_PID" 2>/dev/null && [ "$result" = PASS ]; then
      result=FAIL
      detail="${detail:+$detail
}      mcp-hive auth exited during this run"
    fi
    printf '%-8s %-26s %-11s %-38s checks %s passed, %s failed, %s warnings (%ss)\n' \
      "$result" "$label" "$spec" "$sc" "$passed" "$failed" "$warnings" "$((SECONDS - t0))"
    if [ "$result" != PASS ]; then
      [ -n "$detail" ] && printf '%s\n' "$detail"
      if [ -z "$checks" ] || [ "$result" = TIMEOUT ]; then
        echo "      (exit $rc; last lines of ${logf#"$REPO_ROOT"/}:)"
        tail -n 15 "$logf" | sed 's/^/      | /'
      fi
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$spec" "$sc" "$result" "$passed" "$failed" \
      "$warnings" "${checks#"$REPO_ROOT"/}" "${logf#"$REPO_ROOT"/}" >>"$RESULTS_TSV"
  done
}

run_authserver() {
  local suite="$AS_SUITE" cb_port config dir format label spec scenarios any sc client_id=conformance-public
  case " $SUITES " in *" $suite "*) ;; *)
    log "authorization-server run skipped: it needs suite $suite (CONFORMANCE_SUITES=$SUITES)"
    return 0
    ;;
  esac
  dir="$RESULTS_DIR/authserver"
  mkdir -p "$dir"
  cb_port="$(free_port)" || die "could not pick a free port"
  # A public client (no secret): the suite's authorization-code-grant picks
  # token_endpoint_auth_method "none" whenever the server lists it, even when given a secret.
  config="$dir/authserver.toml"
  cat >"$config" <<EOF
# Written by scripts/conformance.sh for the authorization-server conformance run.
[authserver]
clients = [
  { client_id = "$client_id", client_name = "MCP conformance suite", redirect_uris = ["http://127.0.0.1:$cb_port/callback"], grant_types = ["authorization_code", "refresh_token"] },
]
EOF
  for format in $AUTH_FORMATS; do
    case "$format" in opaque | jwt) ;; *) die "CONFORMANCE_AUTH_TOKEN_FORMATS: unknown format '$format' (opaque, jwt)" ;; esac
    label="$suite auth-$format"
    for spec in $SPECS; do
      scenarios="$(list_as_scenarios "$suite" "$spec")" || die "listing authorization scenarios of $suite failed"
      [ -n "$scenarios" ] || die "no authorization-server scenarios listed by $suite for $spec"
      any=0
      for sc in $scenarios; do selected "$sc" && any=1; done
      [ "$any" = 1 ] || continue
      if [ -z "$AS_PID" ] || ! kill -0 "$AS_PID" 2>/dev/null; then
        stop_authserver
        start_authserver "$dir/$format" "$format" "$config"
        log "mcp-hive auth pid $AS_PID ($format tokens, auto-approve) issuer $AS_ISSUER (log: $AS_LOGS)"
      fi
      section "conformance $label, --spec-version $spec (mcp-hive auth at $AS_ISSUER, client $client_id, callback port $cb_port)"
      # word-split on purpose: one argument per scenario
      # shellcheck disable=SC2086
      run_as_suite "$suite" "$label" "$spec" "$client_id" "$cb_port" $scenarios
    done
    stop_authserver
  done
}

if [ "$AUTHSERVER" != 0 ]; then
  run_authserver
fi

# summary.json + closing summary
node -e '
  const fs = require("fs");
  const [tsv, out] = process.argv.slice(1);
  const rows = fs.readFileSync(tsv, "utf8").split("\n").filter(Boolean).map((l) => {
    const [label, spec, scenario, result, passed, failed, warnings, checks, log] = l.split("\t");
    const num = (x) => (x === "-" ? null : Number(x));
    const [suite, tag = ""] = label.split(" ");
    const as = tag.startsWith("auth-");
    return { suite, target: as ? "authorization-server" : "mcp-server",
             ...(as ? { token_format: tag.slice(5) } : {}),
             replicas: tag.startsWith("x") ? Number(tag.slice(1)) : 1, spec, scenario, result,
             checks_passed: num(passed), checks_failed: num(failed),
             warnings: num(warnings), checks_json: checks || null, log };
  });
  fs.writeFileSync(out, JSON.stringify(rows, null, 2) + "\n");
' "$RESULTS_TSV" "$RESULTS_DIR/summary.json"

section "conformance summary"
total=$(wc -l <"$RESULTS_TSV")
npass=$(awk -F'\t' '$4 == "PASS"' "$RESULTS_TSV" | wc -l)
nskip=$(awk -F'\t' '$4 == "SKIPPED"' "$RESULTS_TSV" | wc -l)
nfail=$((total - npass - nskip))
printf '%-8s %-26s %-11s %s\n' RESULT SUITE SPEC SCENARIO
awk -F'\t' '{ printf "%-8s %-26s %-11s %s\n", $4, $1, $2, $3 }' "$RESULTS_TSV"
echo
printf '%-26s %-11s %6s %6s %7s\n' SUITE SPEC PASSED FAILED SKIPPED
awk -F'\t' '{ k = $1 "\t" $2; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
               if ($4 == "PASS") p[k]++; else if ($4 == "SKIPPED") s[k]++; else f[k]++ }
             END { for (i = 1; i <= n; i++) { split(order[i], a, "\t")
                     printf "%-26s %-11s %6d %6d %7d\n", a[1], a[2], p[order[i]], f[order[i]], s[order[i]] } }' "$RESULTS_TSV"
echo
echo "Results: ${RESULTS_DIR#"$REPO_ROOT"/}/summary.json (per scenario: <suite>[-xN]/<spec>/<scenario>/server-*/checks.json and run.log)"
[ "$SINGLE" != 0 ] && echo "Server log: ${RESULTS_DIR#"$REPO_ROOT"/}/server-*/server.stderr"
if [ "$AUTHSERVER" != 0 ] && [ -d "$RESULTS_DIR/authserver" ]; then
  echo "Authorization-server run: ${RESULTS_DIR#"$REPO_ROOT"/}/<suite>-auth-<format>/<spec>/{authorization-server-<scenario>-*/checks.json,run.log (suite + headless browser)}; mcp-hive auth logs: ${RESULTS_DIR#"$REPO_ROOT"/}/authserver/<format>/server.stderr"
fi
if [ "$REPLICAS" -ge 2 ]; then
  echo "Replicated run logs: ${RESULTS_DIR#"$REPO_ROOT"/}/replicated-*/{replica-*/server.stderr,proxy.stderr,redis.log}"
fi
[ "$total" -gt 0 ] || die "no conformance scenario was run"
if [ "$nskip" -gt 0 ]; then
  echo "note: $nskip scenario(s) were SKIPPED by the suite as not applicable (not counted as failures)"
fi
echo "conformance: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
