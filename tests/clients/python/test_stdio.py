"""The official MCP Python SDK (mcp 1.x) over stdio: ``stdio_client`` launches
``mcp-hive serve --stdio`` as a subprocess (newline-delimited JSON-RPC on stdin/stdout,
logs on stderr) and talks to the same tools as over HTTP, including server-to-client
sampling and elicitation, progress and log notifications. A raw subprocess test checks
end of input: the answers due are written, then the process exits with status 0.

Run: .tools/venv/bin/pytest tests/clients/python/test_stdio.py
"""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import pytest
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.shared.context import RequestContext

from conftest import server_binary

pytestmark = pytest.mark.anyio

ENV = {"MCP_CONFORMANCE_FIXTURES": "true", "RUST_LOG": "warn"}


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


def params() -> StdioServerParameters:
    binary = server_binary()
    if not binary.exists():
        pytest.fail(f"mcp-hive binary not found at {binary} (run cargo build, or set MCP_HIVE_BIN)")
    return StdioServerParameters(command=str(binary), args=["serve", "--stdio"], env=ENV)


@asynccontextmanager
async def connect(**session_kwargs: Any) -> AsyncIterator[tuple[ClientSession, types.InitializeResult]]:
    async with stdio_client(params()) as (read, write):
        async with ClientSession(read, write, **session_kwargs) as session:
            init = await session.initialize()
            yield session, init


async def test_initialize_and_tools():
    async with connect() as (session, init):
        assert init.protocolVersion == types.LATEST_PROTOCOL_VERSION
        assert init.serverInfo.name == "mcp-hive"
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"add", "count", "test_sampling", "test_elicitation"} <= names
        add = await session.call_tool("add", {"a": 2, "b": 40})
        assert not add.isError, add
        assert add.structuredContent == {"result": 42}
        assert await session.send_ping() is not None


async def test_progress_and_log_notifications():
    logs: list[types.LoggingMessageNotificationParams] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(params)

    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with connect(logging_callback=on_log) as (session, _):
        result = await session.call_tool("count", {"number": 3, "intervalMs": 10}, progress_callback=on_progress)
        assert text_of(result) == "Counted to 3"
        assert progress == [1, 2, 3]
        assert len(logs) == 3, logs
        await session.set_logging_level("error")
        logs.clear()
        await session.call_tool("count", {"number": 2, "intervalMs": 0})
        assert logs == [], "logging/setLevel applies to the stdio session"


async def test_sampling_and_elicitation_answered_by_the_client():
    async def sample(
        context: RequestContext[ClientSession, Any], params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        prompt = params.messages[0].content
        assert isinstance(prompt, types.TextContent)
        return types.CreateMessageResult(
            role="assistant",
            model="test-model",
            content=types.TextContent(type="text", text=f"echo: {prompt.text}"),
        )

    async def elicit(context: RequestContext[ClientSession, Any], params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={"username": "ada", "email": "ada@example.com"})

    async with connect(sampling_callback=sample, elicitation_callback=elicit) as (session, _):
        sampled = await session.call_tool("test_sampling", {"prompt": "hi"})
        assert text_of(sampled) == "LLM response: echo: hi", sampled
        elicited = await session.call_tool("test_elicitation", {"message": "Who?"})
        assert "ada" in text_of(elicited), elicited


def test_end_of_input_exits_zero_and_stdout_is_json():
    binary = server_binary()
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "pytest", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    proc = subprocess.run(
        [str(binary), "serve", "--stdio"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **ENV},
    )
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [m.get("id") for m in out] == [1, 2, None], out
    assert out[1]["result"]["structuredContent"] == {"result": 3}
    assert out[2]["error"]["code"] == -32700
