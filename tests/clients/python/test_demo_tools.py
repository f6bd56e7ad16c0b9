"""The official MCP Python SDK (mcp 1.x) client against mcp-hive's demo tools.

Run: .tools/venv/bin/pytest tests/clients/python   (see scripts/test-all.sh)
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

import anyio
import pytest
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.session import RequestResponder

pytestmark = pytest.mark.anyio

DEMO_TOOLS = {"add", "multiply", "greet", "count"}


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


@asynccontextmanager
async def connect(url: str, **session_kwargs) -> AsyncIterator[tuple[ClientSession, types.InitializeResult, Callable[[], str | None]]]:
    # streamable_http_client is the current name of mcp's streamable HTTP
    # client transport (streamablehttp_client is its deprecated alias).
    async with streamable_http_client(url) as (read, write, get_session_id):
        async with ClientSession(read, write, **session_kwargs) as session:
            init = await session.initialize()
            yield session, init, get_session_id


async def test_initialize(mcp_server):
    async with connect(mcp_server.mcp_url) as (session, init, get_session_id):
        assert init.protocolVersion == types.LATEST_PROTOCOL_VERSION
        assert init.serverInfo.name
        assert init.capabilities.tools is not None
        assert get_session_id(), "server assigned an Mcp-Session-Id"


async def test_list_tools(mcp_server):
    async with connect(mcp_server.mcp_url) as (session, _, _):
        tools = (await session.list_tools()).tools
        names = {t.name for t in tools}
        assert DEMO_TOOLS <= names, f"demo tools missing: {DEMO_TOOLS - names}"
        for tool in tools:
            if tool.name in DEMO_TOOLS:
                assert tool.inputSchema.get("type") == "object", tool


async def test_call_demo_tools(mcp_server):
    async with connect(mcp_server.mcp_url) as (session, _, _):
        add = await session.call_tool("add", {"a": 2, "b": 40})
        assert not add.isError, add
        assert add.structuredContent == {"result": 42}
        assert "42" in text_of(add)

        add_frac = await session.call_tool("add", {"a": 1.5, "b": -4})
        assert add_frac.structuredContent == {"result": -2.5}

        mul = await session.call_tool("multiply", {"a": 6, "b": 7})
        assert not mul.isError, mul
        assert mul.structuredContent == {"result": 42}

        greet = await session.call_tool("greet", {"name": "Hive"})
        assert not greet.isError, greet
        assert text_of(greet) == "Hello, Hive!"

        count = await session.call_tool("count", {"number": 3, "intervalMs": 1})
        assert not count.isError, count
        assert "Counted to 3" in text_of(count)


async def test_count_with_progress(mcp_server):
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async with connect(mcp_server.mcp_url) as (session, _, _):
        result = await session.call_tool(
            "count", {"number": 5, "intervalMs": 20}, progress_callback=on_progress
        )
        assert not result.isError, result
        assert "Counted to 5" in text_of(result)
    assert [p[0] for p in progress] == [1, 2, 3, 4, 5], progress
    assert all(p[1] == 5 for p in progress), progress


async def test_ping(mcp_server):
    async with connect(mcp_server.mcp_url) as (session, _, _):
        assert isinstance(await session.send_ping(), types.EmptyResult)
        res = await session.send_request(types.ClientRequest(types.PingRequest()), types.EmptyResult)
        assert isinstance(res, types.EmptyResult)


async def test_clock_subscription(mcp_server):
    updates: list[str] = []
    got_two = anyio.Event()

    async def handler(
        message: RequestResponder[types.ServerRequest, types.ClientResult] | types.ServerNotification | Exception,
    ) -> None:
        if isinstance(message, types.ServerNotification) and isinstance(
            message.root, types.ResourceUpdatedNotification
        ):
            updates.append(str(message.root.params.uri))
            if len(updates) >= 2:
                got_two.set()

    async with connect(mcp_server.mcp_url, message_handler=handler) as (session, init, _):
        assert init.capabilities.resources and init.capabilities.resources.subscribe
        await session.subscribe_resource("demo://clock")
        with anyio.fail_after(10):
            await got_two.wait()
        await session.unsubscribe_resource("demo://clock")
        read = await session.read_resource("demo://clock")
        assert read.contents and isinstance(read.contents[0], types.TextResourceContents)
    assert set(updates) == {"demo://clock"}, updates
