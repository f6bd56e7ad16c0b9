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
# No expected-failures baseline: any failing scenario fails the script.
#
# Env knobs:
#   MCP_HIVE_BIN                  server binary (default target/debug/mcp-hive)
#   CONFORMANCE_SUITES            default "0.1.16 0.2.0-alpha.12"
#   CONFORMANCE_SPEC_VERSIONS     default "2025-06-18 2025-11-25"
#   CONFORMANCE_SCENARIOS         only run these scenarios (space-separated)
#   CONFORMANCE_RESULTS_DIR       default target/conformance (wiped per run)
#   CONFORMANCE_SCENARIO_TIMEOUT  seconds per scenario process, default 180
set -uo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SUITES="${CONFORMANCE_SUITES:-0.1.16 0.2.0-alpha.12}"
SPECS="${CONFORMANCE_SPEC_VERSIONS:-2025-06-18 2025-11-25}"
ONLY="${CONFORMANCE_SCENARIOS:-}"
RESULTS_DIR="${CONFORMANCE_RESULTS_DIR:-$REPO_ROOT/target/conformance}"
SCENARIO_TIMEOUT="${CONFORMANCE_SCENARIO_TIMEOUT:-180}"

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

SERVER_ENV=(MCP_CONFORMANCE_FIXTURES=true DISABLE_AUTH=true)
cleanup() { stop_mcp_hive; }
trap cleanup EXIT
trap 'exit 130' INT TERM

server_generation=1
start_server() {
  start_mcp_hive "$RESULTS_DIR/server-$server_generation" "${SERVER_ENV[@]}"
  log "server pid $MCP_HIVE_PID listening on $MCP_HIVE_URL (log: ${MCP_HIVE_STDERR#"$REPO_ROOT"/})"
}
start_server

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

run_scenario() { # SUITE SPEC(label) SPEC_ARG(or "") SCENARIO
  local suite="$1" spec="$2" spec_arg="$3" sc="$4" d outdir logf rc result checks stats detail
  d="$(suite_dir "$suite")"
  outdir="$RESULTS_DIR/$suite/$spec/$sc"
  mkdir -p "$outdir"
  logf="$outdir/run.log"
  local args=(server --url "$MCP_HIVE_URL/mcp" --scenario "$sc" -o "$outdir")
  [ -n "$spec_arg" ] && args+=(--spec-version "$spec_arg")
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
  if ! kill -0 "$MCP_HIVE_PID" 2>/dev/null; then
    log "server died during $suite/$spec/$sc; see ${MCP_HIVE_STDERR#"$REPO_ROOT"/}; restarting it"
    [ "$result" = PASS ] && result=FAIL
    detail="${detail:+$detail
}      server process exited during this scenario"
    wait "$MCP_HIVE_PID" 2>/dev/null || true
    MCP_HIVE_PID=""
    server_generation=$((server_generation + 1))
    start_server
  fi
  read -r passed failed warnings <<<"$stats"
  printf '%-8s %-15s %-11s %-36s checks %s passed, %s failed, %s warnings (%ss)\n' \
    "$result" "$suite" "$spec" "$sc" "$passed" "$failed" "$warnings" "$((SECONDS - t0))"
  if [ "$result" != PASS ]; then
    [ -n "$detail" ] && printf '%s\n' "$detail"
    if [ -z "$checks" ] || [ "$result" = TIMEOUT ]; then
      echo "      (exit $rc; last lines of ${logf#"$REPO_ROOT"/}:)"
      tail -n 15 "$logf" | sed 's/^/      | /'
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$suite" "$spec" "$sc" "$result" "$passed" "$failed" \
    "$warnings" "${checks#"$REPO_ROOT"/}" "${logf#"$REPO_ROOT"/}" >>"$RESULTS_TSV"
}

selected() { [ -z "$ONLY" ] || case " $ONLY " in *" $1 "*) true ;; *) false ;; esac; }

for suite in $SUITES; do
  if suite_has_wire_versions "$suite"; then
    for spec in $SPECS; do
      section "conformance $suite, --spec-version $spec"
      scenarios="$(list_scenarios "$suite" "$spec")" || die "listing scenarios of $suite failed"
      [ -n "$scenarios" ] || die "no server scenarios listed by $suite for $spec"
      for sc in $scenarios; do
        selected "$sc" && run_scenario "$suite" "$spec" "$spec" "$sc"
      done
    done
  else
    # Union of the applicable scenarios, run once at the suite's own wire version.
    latest="$(printf '%s\n' $SPECS | sort | tail -n1)" # word-split on purpose
    section "conformance $suite (wire version fixed by the suite: its SDK's latest; scenarios applicable to: $SPECS)"
    scenarios="$(for spec in $SPECS; do list_scenarios "$suite" "$spec"; done | awk '!seen[$0]++')" ||
      die "listing scenarios of $suite failed"
    [ -n "$scenarios" ] || die "no server scenarios listed by $suite"
    for sc in $scenarios; do
      selected "$sc" && run_scenario "$suite" "$latest" "" "$sc"
    done
  fi
done

stop_mcp_hive

# summary.json + closing summary
node -e '
  const fs = require("fs");
  const [tsv, out] = process.argv.slice(1);
  const rows = fs.readFileSync(tsv, "utf8").split("\n").filter(Boolean).map((l) => {
    const [suite, spec, scenario, result, passed, failed, warnings, checks, log] = l.split("\t");
    const num = (x) => (x === "-" ? null : Number(x));
    return { suite, spec, scenario, result, checks_passed: num(passed), checks_failed: num(failed),
             warnings: num(warnings), checks_json: checks || null, log };
  });
  fs.writeFileSync(out, JSON.stringify(rows, null, 2) + "\n");
' "$RESULTS_TSV" "$RESULTS_DIR/summary.json"

section "conformance summary"
total=$(wc -l <"$RESULTS_TSV")
npass=$(awk -F'\t' '$4 == "PASS"' "$RESULTS_TSV" | wc -l)
nskip=$(awk -F'\t' '$4 == "SKIPPED"' "$RESULTS_TSV" | wc -l)
nfail=$((total - npass - nskip))
printf '%-8s %-15s %-11s %s\n' RESULT SUITE SPEC SCENARIO
awk -F'\t' '{ printf "%-8s %-15s %-11s %s\n", $4, $1, $2, $3 }' "$RESULTS_TSV"
echo
echo "Results: ${RESULTS_DIR#"$REPO_ROOT"/}/summary.json (per scenario: <suite>/<spec>/<scenario>/server-*/checks.json and run.log)"
echo "Server log: ${RESULTS_DIR#"$REPO_ROOT"/}/server-*/server.stderr"
[ "$total" -gt 0 ] || die "no conformance scenario was run"
if [ "$nskip" -gt 0 ]; then
  echo "note: $nskip scenario(s) were SKIPPED by the suite as not applicable (not counted as failures)"
fi
echo "conformance: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
