#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ (see fuzz/README.md), one at a time, and records them.
#
#   scripts/fuzz.sh [target ...] [--seconds N]
#
# Default: every target, 600 s each. First `cargo fuzz build --release --debug-assertions`
# (AddressSanitizer, sanitizer coverage, overflow checks) builds every target once; the binaries
# are copied aside, so edits to src/ while the runs go on (the first build takes ~20 minutes on
# 2 cores, a rebuild of the crate ~10) neither trigger a rebuild between targets nor change the
# code under test halfway. Then, for each target:
#   1. the working corpus fuzz/work-corpus/<target>/ (git-ignored) is seeded with
#      fuzz/seeds/<target>/ and the committed corpus fuzz/corpus/<target>/;
#   2. the target runs for N seconds: `-max_total_time=N`, inputs up to 4 KiB (`-max_len`), 10 s
#      per input (`-timeout`), crash inputs to fuzz/artifacts/<target>/ (what `cargo fuzz run`
#      passes, plus the time limit);
#   3. libFuzzer's summary (executions, exec/s, cov:, ft:, corpus size, crashes) goes to a new
#      table in fuzz/RESULTS.md (date, commit, seconds, result), the full log to
#      fuzz/target/fuzz-logs/;
#   4. the working corpus is minimized the way `cargo fuzz cmin` does it (libFuzzer
#      `-merge=1` into a fresh directory) and replaces fuzz/corpus/<target>/, leaving out inputs
#      larger than 4 KiB.
# A crash leaves its input in fuzz/artifacts/<target>/ (git-ignored); the script goes on with
# the other targets and exits 1 at the end. Make the input a regression (fuzz/README.md).
#
# cargo-fuzz is installed into .tools/cargo-fuzz if missing (pinned below). It needs nightly
# compiler flags (-Zsanitizer=address, sanitizer coverage); the stable toolchain accepts them with
# RUSTC_BOOTSTRAP=1, so no other toolchain is needed.
#
# Env knobs:
#   FUZZ_NICE      niceness of the fuzzing processes (default 10)
#   FUZZ_RECORD    0: do not touch fuzz/RESULTS.md or fuzz/corpus/ (a quick local try)
#   FUZZ_ARGS      extra libFuzzer arguments (e.g. "-dict=... -only_ascii=1")
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CARGO_FUZZ_VERSION="0.13.1"
CARGO_FUZZ_ROOT="$TOOLS_DIR/cargo-fuzz"
CARGO_FUZZ="$CARGO_FUZZ_ROOT/bin/cargo-fuzz"
ALL_TARGETS=(jsonrpc_decode event_id session_id mcp_param_header bearer_token)
MAX_INPUT_BYTES=4096
FUZZ_DIR="$REPO_ROOT/fuzz"
RESULTS="$FUZZ_DIR/RESULTS.md"
LOG_DIR="$FUZZ_DIR/target/fuzz-logs"

seconds=600
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds)
      [ $# -ge 2 ] || die "--seconds needs a value"
      seconds="$2"
      shift 2
      ;;
    --seconds=*)
      seconds="${1#--seconds=}"
      shift
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*) die "unknown option $1" ;;
    *)
      targets+=("$1")
      shift
      ;;
  esac
done
case "$seconds" in '' | *[!0-9]*) die "--seconds must be a whole number, not '$seconds'" ;; esac
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || die "unknown target '$t' (known: ${ALL_TARGETS[*]})"
done

# -- cargo-fuzz, pinned and project-local (idempotent) ----------------------------------------
if ! { [ -x "$CARGO_FUZZ" ] && "$CARGO_FUZZ" --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; }; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION into ${CARGO_FUZZ_ROOT#"$REPO_ROOT"/}"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --root "$CARGO_FUZZ_ROOT"
fi
export PATH="$CARGO_FUZZ_ROOT/bin:$PATH"
export RUSTC_BOOTSTRAP=1
nice_level="${FUZZ_NICE:-10}"
record="${FUZZ_RECORD:-1}"
read -r -a extra_args <<<"${FUZZ_ARGS:-}"

cd "$FUZZ_DIR"
mkdir -p "$LOG_DIR"
commit="$(git -C "$REPO_ROOT" rev-parse --short HEAD)"
if [ -n "$(git -C "$REPO_ROOT" status --porcelain -- src Cargo.toml fuzz/props.rs fuzz/fuzz_targets 2>/dev/null)" ]; then
  commit="$commit+dirty"
fi
log "building the fuzz targets (release, debug assertions, ASan, sanitizer coverage)"
nice -n "$nice_level" cargo fuzz build --release --debug-assertions
triple="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="$FUZZ_DIR/target/fuzz-bin/$$"
rm -rf "$bin_dir"
mkdir -p "$bin_dir"
trap 'rm -rf "$bin_dir"' EXIT
for t in "${targets[@]}"; do
  cp "$FUZZ_DIR/target/$triple/release/$t" "$bin_dir/$t"
done

started="$(date -u '+%Y-%m-%d %H:%M UTC')"
rustc_version="$(rustc --version | cut -d' ' -f2)"
rows=()
failed=0

# The last libFuzzer status line (`#N ... cov: C ft: F corp: U/S ... exec/s: E`) and its
# final stats (-print_final_stats=1) give the numbers of a run.
field() { sed -n "s/.*$1 \\([^ ]*\\).*/\\1/p" <<<"$2" | tail -n1; }
stat() { sed -n "s/^stat::$1: *\\([0-9]*\\).*/\\1/p" "$2" | tail -n1; }

for t in "${targets[@]}"; do
  work="$FUZZ_DIR/work-corpus/$t"
  rm -rf "$work"
  mkdir -p "$work" "$FUZZ_DIR/corpus/$t" "$FUZZ_DIR/artifacts/$t"
  for src in "$FUZZ_DIR/seeds/$t" "$FUZZ_DIR/corpus/$t"; do
    [ -d "$src" ] && find "$src" -maxdepth 1 -type f -exec cp -t "$work" {} +
  done
  run_log="$LOG_DIR/$t-$(date -u +%Y%m%dT%H%M%SZ).log"
  log "fuzzing $t for ${seconds}s (log: ${run_log#"$REPO_ROOT"/})"
  set +e
  nice -n "$nice_level" "$bin_dir/$t" -artifact_prefix="$FUZZ_DIR/artifacts/$t/" \
    -max_total_time="$seconds" -max_len="$MAX_INPUT_BYTES" -timeout=10 -print_final_stats=1 \
    "${extra_args[@]}" "$work" >"$run_log" 2>&1
  status=$?
  set -e
  last="$(grep -E '^#[0-9]+.*cov: ' "$run_log" | tail -n1 || true)"
  execs="$(stat number_of_executed_units "$run_log")"
  [ -n "$execs" ] || execs="$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")"
  rate="$(stat average_exec_per_sec "$run_log")"
  [ -n "$rate" ] || rate="$(field 'exec/s:' "$last")"
  cov="$(field 'cov:' "$last")"
  ft="$(field 'ft:' "$last")"
  corp="$(field 'corp:' "$last")"
  if [ "$status" -eq 0 ]; then
    result="no crash"
  else
    failed=1
    artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$run_log" | tail -n1)"
    kind="$(grep -m1 -oE 'panicked at [^:]+:[0-9]+|ERROR: libFuzzer: [a-z-]+|ERROR: AddressSanitizer: [a-z-]+' "$run_log" || echo "exit $status")"
    result="**CRASH** ($kind) ${artifact#"$FUZZ_DIR"/}"
    log "$t: $result; see $run_log"
  fi
  kept="-"
  if [ "$record" != 0 ]; then
    log "minimizing the corpus of $t"
    merged="$FUZZ_DIR/work-corpus/$t.cmin"
    rm -rf "$merged"
    mkdir -p "$merged"
    if nice -n "$nice_level" "$bin_dir/$t" -merge=1 -max_len="$MAX_INPUT_BYTES" -timeout=10 \
      -artifact_prefix="$FUZZ_DIR/artifacts/$t/" "$merged" "$work" >>"$run_log" 2>&1; then
      find "$FUZZ_DIR/corpus/$t" -maxdepth 1 -type f -delete
      find "$merged" -maxdepth 1 -type f -size -$((MAX_INPUT_BYTES + 1))c -exec cp -t "$FUZZ_DIR/corpus/$t" {} +
      kept="$(find "$FUZZ_DIR/corpus/$t" -maxdepth 1 -type f | wc -l | tr -d ' ')"
    else
      log "$t: minimizing failed (see $run_log); fuzz/corpus/$t left as it was"
    fi
    rm -rf "$merged"
  fi
  rows+=("| \`$t\` | $seconds | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $kept | $result |")
  log "$t: ${execs:-?} execs, ${rate:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?} -> $kept kept: $result"
done

if [ "$record" != 0 ]; then
  [ -f "$RESULTS" ] || printf '# Fuzzing results\n\nWritten by scripts/fuzz.sh.\n\n## Runs\n' >"$RESULTS"
  {
    printf '\n### %s, commit %s\n\n' "$started" "$commit"
    # shellcheck disable=SC2016 # the backquotes are Markdown
    printf 'rustc %s (stable, RUSTC_BOOTSTRAP=1), cargo-fuzz %s, release with debug assertions, ASan, %s s per target, `nice -n %s`.\n\n' \
      "$rustc_version" "$CARGO_FUZZ_VERSION" "$seconds" "$nice_level"
    printf '| target | seconds | execs | exec/s | cov | ft | corpus (units/size) | kept after cmin | result |\n'
    printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n'
    printf '%s\n' "${rows[@]}"
  } >>"$RESULTS"
  log "recorded in ${RESULTS#"$REPO_ROOT"/}"
fi
exit "$failed"
