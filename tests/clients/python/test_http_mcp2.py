"""A published 2026-07-28 client over Streamable HTTP: the dual-era Python SDK (mcp 2.x, in
``.tools/venv-mcp2``; it cannot share a venv with mcp 1.x) runs ``mcp2_http_client.py`` against
``mcp-hive serve``: server/discover, tools, progress, a two-round multi round-trip request,
``subscriptions/listen``, and the session era on the same endpoint. Skipped when that venv is
missing.

Run: .tools/venv/bin/pytest tests/clients/python/test_http_mcp2.py
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT

VENV2_PYTHON = REPO_ROOT / ".tools" / "venv-mcp2" / "bin" / "python"
SCRIPT = Path(__file__).with_name("mcp2_http_client.py")


def test_dual_era_sdk_over_streamable_http(start_mcp_server):
    if not VENV2_PYTHON.exists():
        pytest.skip(".tools/venv-mcp2 is missing (run scripts/install-test-deps.sh)")
    server = start_mcp_server(MCP_CONFORMANCE_FIXTURES="true")
    proc = subprocess.run(
        [str(VENV2_PYTHON), str(SCRIPT), server.mcp_url],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, (
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-8000:]}\nserver:\n{server.stderr()[-4000:]}"
    )
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["auto_version"] == "2026-07-28"
    assert summary["auto_progress"] == [1, 2, 3]
    assert summary["mrtr"] == "Multi-round complete for Ada who likes teal"
    assert summary["mrtr_questions"] == ["Step 1: What is your name?", "Step 2: What is your favorite color?"]
    assert summary["listen_honored"] is True
    assert "Tool" in summary["listen_event"], summary
    assert summary["legacy_version"] == "2025-11-25"
