"""The dual-era Python SDK (mcp 2.x) over stdio: ``mcp2_stdio_client.py`` runs with the python
of ``.tools/venv-mcp2`` (installed by scripts/install-test-deps.sh; mcp 1.x and 2.x cannot share
a venv) against ``mcp-hive serve --stdio``, once in ``auto`` mode (server/discover, then
2026-07-28 per-request ``_meta``: tools, progress) and once in ``legacy`` mode (initialize,
elicitation answered by the client). Skipped when that venv is missing.

Run: .tools/venv/bin/pytest tests/clients/python/test_stdio_mcp2.py
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT, server_binary

VENV2_PYTHON = REPO_ROOT / ".tools" / "venv-mcp2" / "bin" / "python"
SCRIPT = Path(__file__).with_name("mcp2_stdio_client.py")


def test_dual_era_sdk_over_stdio():
    if not VENV2_PYTHON.exists():
        pytest.skip(".tools/venv-mcp2 is missing (run scripts/install-test-deps.sh)")
    binary = server_binary()
    if not binary.exists():
        pytest.fail(f"mcp-hive binary not found at {binary} (run cargo build, or set MCP_HIVE_BIN)")
    proc = subprocess.run(
        [str(VENV2_PYTHON), str(SCRIPT), str(binary)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-8000:]}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["auto_version"] == "2026-07-28"
    assert summary["auto_progress"] == [1, 2, 3]
    assert summary["legacy_version"] == "2025-11-25"
    assert "ada" in summary["legacy_elicitation"]
