"""Pytest fixtures that run the mcp-hive binary for the Python client tests.

``mcp_server`` (module scope) yields a running server with the default env;
``start_mcp_server(**env)`` starts extra ones with custom env. The binary is
$MCP_HIVE_BIN (relative paths from the repo root), default target/debug/mcp-hive.
It is started with HOST=127.0.0.1 PORT=0 DISABLE_AUTH=true (unless
``disable_auth=False``) and must print one stdout line
``mcp-hive listening on http://127.0.0.1:<port>`` once listening.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
LISTENING_RE = re.compile(r"^mcp-hive listening on (http://\S+)$")
START_TIMEOUT_S = float(os.environ.get("MCP_HIVE_START_TIMEOUT", "30"))
STOP_TIMEOUT_S = 10.0


def server_binary() -> Path:
    bin_ = Path(os.environ.get("MCP_HIVE_BIN") or "target/debug/mcp-hive")
    return bin_ if bin_.is_absolute() else REPO_ROOT / bin_


@dataclass
class McpHiveServer:
    process: subprocess.Popen
    base_url: str
    stderr_path: Path
    stdout_lines: list[str] = field(default_factory=list)

    @property
    def mcp_url(self) -> str:
        return self.base_url + "/mcp"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> int | None:
        proc = self.process
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode


def start_server(
    extra_env: dict[str, str] | None = None, workdir: Path | None = None, *, disable_auth: bool = True
) -> McpHiveServer:
    """Start the binary; ``disable_auth=False`` leaves DISABLE_AUTH unset (not even inherited)."""
    binary = server_binary()
    if not binary.exists():
        pytest.fail(f"mcp-hive binary not found at {binary} (run cargo build, or set MCP_HIVE_BIN)")
    env = dict(os.environ)
    env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": "0",
            "DISABLE_AUTH": "true",
            "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
        }
    )
    env.update(extra_env or {})
    if not disable_auth:
        env.pop("DISABLE_AUTH", None)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="mcp-hive-pytest-"))
    stderr_path = workdir / "server.stderr"
    stderr_file = stderr_path.open("wb")
    proc = subprocess.Popen(
        [str(binary), "serve"],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        text=True,
        bufsize=1,
    )
    stderr_file.close()

    found: dict[str, str] = {}
    lines: list[str] = []
    ready = threading.Event()

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\r\n")
            lines.append(line)
            m = LISTENING_RE.match(line)
            if m and "url" not in found:
                found["url"] = m.group(1)
                ready.set()
        ready.set()  # EOF: the server exited

    threading.Thread(target=read_stdout, name="mcp-hive-stdout", daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    ready.wait(timeout=START_TIMEOUT_S)
    if "url" not in found:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        stderr_tail = stderr_path.read_text(errors="replace")[-8000:]
        reason = (
            f"exited with code {proc.returncode}"
            if time.monotonic() < deadline
            else f"did not print its listening line within {START_TIMEOUT_S}s"
        )
        pytest.fail(
            f"mcp-hive {reason}\n--- stdout ---\n" + "\n".join(lines) + f"\n--- stderr ---\n{stderr_tail}"
        )
    return McpHiveServer(process=proc, base_url=found["url"], stderr_path=stderr_path, stdout_lines=lines)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def mcp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpHiveServer]:
    server = start_server(workdir=tmp_path_factory.mktemp("mcp-hive"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_mcp_server(tmp_path: Path) -> Iterator[Callable[..., McpHiveServer]]:
    """Factory: ``start_mcp_server(SSE_MAX_CONNECTION_SECS="2")``; all stopped at teardown."""
    started: list[McpHiveServer] = []

    def factory(**env: str) -> McpHiveServer:
        server = start_server({k: str(v) for k, v in env.items()}, workdir=Path(tempfile.mkdtemp(dir=tmp_path)))
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()
