#!/usr/bin/env bash
# The one command that runs every test, on a fresh machine too:
#   bash scripts/test-all.sh
# Steps (fail fast): install test deps -> cargo fmt --check -> cargo clippy ->
# cargo build -> deployment manifests -> cargo test -> load generator smoke -> conformance suites (one server, then 2 replicas
# on a throwaway Redis behind a round-robin proxy) -> node client tests ->
# rolling restarts (redis-server, 3 replicas, nginx, TS SDK client) -> python client tests.
#
# SKIP_INSTALL=1 skips the install step (for quick local re-runs).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

START=$SECONDS
CURRENT=""
STEPS_DONE=()
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -n "$CURRENT" ]; then
    printf '\n**** FAILED: %s (exit %s) after %ss ****\n' "$CURRENT" "$rc" "$((SECONDS - START))" >&2
  fi
}
trap on_exit EXIT

step() { # step NAME CMD...
  CURRENT="$1"
  shift
  section "$CURRENT"
  printf '$ %s\n' "$*"
  local t0=$SECONDS
  "$@"
  STEPS_DONE+=("$(printf '%-30s ok  (%ss)' "$CURRENT" "$((SECONDS - t0))")")
  CURRENT=""
}

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  step "install test dependencies" bash scripts/install-test-deps.sh
  # Pick up .tools/node22 and .tools/venv if they were just installed.
  # shellcheck source=scripts/lib.sh
  source scripts/lib.sh
fi

step "cargo fmt --check" cargo fmt --check
step "cargo clippy" cargo clippy --all-targets -- -D warnings
step "cargo build" cargo build
step "deployment manifests (helm, compose)" bash scripts/validate-deploy.sh
step "cargo test" cargo test
# The dev profile reuses the debug mcp-hive of "cargo build" (a release build would add minutes
# on a cold CI machine); the smoke checks the generator works, not how fast.
step "load generator smoke" cargo bench --profile dev --bench load -- smoke
step "conformance" bash scripts/conformance.sh
step "node client tests (TS SDK)" node --test tests/clients/ts/*.test.mjs
step "rolling restarts (redis, 3 replicas, nginx, TS SDK)" node tests/clients/cluster/rolling-restart.mjs
step "python client tests (mcp SDK)" "$VENV_DIR/bin/python" -m pytest tests/clients/python

section "summary"
printf '%s\n' "${STEPS_DONE[@]}"
printf 'all steps passed in %ss\n' "$((SECONDS - START))"
