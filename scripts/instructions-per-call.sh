#!/usr/bin/env bash
# Instructions a replica executes per `tools/call`, counted by Valgrind's callgrind: a
# deterministic measure for changes of 1-10 %, which the alternating load rounds on a shared
# 2-core machine cannot resolve (BENCHMARKS.md, "Instructions per call").
#
# Usage: scripts/instructions-per-call.sh <mcp-hive binary> <json|sse> [redis://127.0.0.1:<port>]
#
# It starts the binary under callgrind twice (auth off, the given response mode, the embedded
# store or the given Redis), drives each with the load generator's `calls` (16 clients, then a
# fixed 200/s) for SHORT and LONG measured seconds (default 2 and 8), reads the number of
# `tools/call` operations from the replica's own /metrics, and prints
#   (instructions of the long run - instructions of the short run) / (calls long - calls short)
# so start-up, session set-up and shutdown cancel out. Under callgrind the replica runs about
# 50 times slower and its threads take turns, so absolute numbers are for comparing builds, not
# for predicting time; a `rep stos` counts once per iteration, which inflates memset.
# Needs valgrind and a built load generator (`cargo bench --bench load --no-run`); LOAD names
# it, otherwise the newest target/release/deps/load-* is used. Only loopback addresses.
set -euo pipefail

bin=${1:?usage: $0 <mcp-hive binary> <json|sse> [redis-url]}
mode=${2:?usage: $0 <mcp-hive binary> <json|sse> [redis-url]}
redis=${3:-}
short=${SHORT:-2}
long=${LONG:-8}
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load=${LOAD:-$(newest_load)}
[ -x "$load" ] || { echo "no load generator: cargo bench --bench load --no-run" >&2; exit 2; }
command -v valgrind > /dev/null || { echo "valgrind is not installed" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run <seconds>: prints "<calls> <instructions>"
run() {
  local seconds=$1 port out pid calls
  port=$(free_port)
  out="$work/callgrind.$seconds"
  env -i PATH="$PATH" HOME="${HOME:-/root}" USER="${USER:-root}" HOST=127.0.0.1 PORT="$port" \
    DISABLE_AUTH=true RUST_LOG=error MCP_HIVE__PROTOCOL__RESPONSE_MODE="$mode" \
    ${redis:+REDIS_URL="$redis"} \
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" serve > "$work/log.$seconds" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    curl -s -o /dev/null "http://127.0.0.1:$port/metrics" && break
    sleep 0.5
  done
  "$load" calls --url "http://127.0.0.1:$port/mcp" --duration "$seconds" --warmup 1 --rate 200 > /dev/null
  calls=$(curl -s "http://127.0.0.1:$port/metrics" |
    awk '/operation_duration_seconds_count\{mcp_method_name="tools\/call"/ {s += $NF} END {print s + 0}')
  kill -TERM "$pid"
  wait "$pid" || true
  echo "$calls $(awk '/^totals:/ {print $2}' "$out")"
}

read -r c1 i1 < <(run "$short")
read -r c2 i2 < <(run "$long")
python3 - "$c1" "$i1" "$c2" "$i2" <<'EOF'
import sys
c1, i1, c2, i2 = map(int, sys.argv[1:])
print(f"calls {c1} / {c2}, instructions {i1} / {i2}: {round((i2 - i1) / (c2 - c1))} instructions per call")
EOF
