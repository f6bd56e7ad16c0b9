#!/usr/bin/env bash
# What one SSE `tools/call` costs Redis and the replica, in CPU time, and the rate at full speed:
# the measure behind "A POST's only event without the script" in BENCHMARKS.md. Run it for two
# builds in alternation (the machine's speed drifts; compare pairs, not runs hours apart).
#
# Usage: scripts/redis-cpu-per-call.sh <mcp-hive binary> [seconds] [json|sse]
#
# It starts its own redis-server on a free loopback port (REDIS_SERVER names another binary),
# starts the replica on it (auth off, SSE replies unless told otherwise), warms it with 1 s of
# `load calls`, then runs `load calls` for SECONDS (default 5) at full speed with 16 clients and
# as long again at 100/s, and prints
#   calls/s at full speed, Redis CPU per call (`INFO cpu`), replica CPU per call (/proc/<pid>/stat)
# over the measured calls (counted from the replica's /metrics). LOAD names the load generator,
# otherwise the newest target/release/deps/load-* is used. Only loopback addresses.
set -euo pipefail

bin=${1:?usage: $0 <mcp-hive binary> [seconds] [json|sse]}
seconds=${2:-5}
mode=${3:-sse}
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load=${LOAD:-$(newest_load)}
[ -x "$load" ] || { echo "no load generator: cargo bench --bench load --no-run" >&2; exit 2; }
redis_server=${REDIS_SERVER:-redis-server}
command -v "$redis_server" > /dev/null || { echo "redis-server is not installed" >&2; exit 2; }
work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

redis_port=$(free_port)
"$redis_server" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  > "$work/redis.log" 2>&1 &
pids+=($!)
rcli() { redis-cli -p "$redis_port" "$@"; }
for _ in $(seq 1 50); do rcli ping > /dev/null 2>&1 && break; sleep 0.1; done

port=$(free_port)
env -i PATH="$PATH" HOST=127.0.0.1 PORT="$port" DISABLE_AUTH=true RUST_LOG=error \
  MCP_HIVE__PROTOCOL__RESPONSE_MODE="$mode" REDIS_URL="redis://127.0.0.1:$redis_port" \
  "$bin" serve > "$work/replica.log" 2>&1 &
replica=$!
pids+=("$replica")
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/metrics" && break
  sleep 0.2
done

redis_cpu() { rcli info cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {printf "%.6f", s}'; }
replica_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.6f", ($14 + $15) / hz}' "/proc/$replica/stat"
}
calls() {
  curl -s "http://127.0.0.1:$port/metrics" |
    awk '/operation_duration_seconds_count\{mcp_method_name="tools\/call"/ {s += $NF} END {print s + 0}'
}

"$load" calls --url "http://127.0.0.1:$port/mcp" --duration 1 --warmup 1 --rate 1000 > /dev/null
c0=$(calls) r0=$(redis_cpu) p0=$(replica_cpu)
"$load" calls --url "http://127.0.0.1:$port/mcp" --duration "$seconds" --warmup 0 --rate 100 \
  > "$work/load.txt"
c1=$(calls) r1=$(redis_cpu) p1=$(replica_cpu)
rate=$(awk '/closed 16/ {print $7}' "$work/load.txt")
python3 - "$c0" "$c1" "$r0" "$r1" "$p0" "$p1" "${rate:-0}" <<'EOF'
import sys
c0, c1 = int(sys.argv[1]), int(sys.argv[2])
r0, r1, p0, p1 = map(float, sys.argv[3:7])
calls = c1 - c0
print(f"{sys.argv[7]} calls/s at full speed; per call ({calls} calls): "
      f"Redis {(r1 - r0) / calls * 1e6:.1f} µs, replica {(p1 - p0) / calls * 1e6:.1f} µs")
EOF
