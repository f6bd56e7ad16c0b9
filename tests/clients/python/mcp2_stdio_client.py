"""Client scenario for the dual-era Python SDK (mcp 2.x), run by test_stdio_mcp2.py with the
python of .tools/venv-mcp2 (mcp 1.x and 2.x cannot share a venv). Usage:

    mcp2_stdio_client.py <mcp-hive binary>

It launches ``<binary> serve --stdio`` twice with ``mcp.Client``: in ``auto`` mode (the SDK
probes ``server/discover`` and talks 2026-07-28 per-request ``_meta``) and in ``legacy``
mode (initialize handshake, session era, elicitation answered by the client), checks what it
gets, and prints one JSON summary line on stdout. Any failed check raises (non-zero exit).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import ElicitResult, TextContent


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def main(binary: str) -> dict[str, Any]:
    params = StdioServerParameters(
        command=binary,
        args=["serve", "--stdio"],
        env={"MCP_CONFORMANCE_FIXTURES": "true", "RUST_LOG": "warn"},
    )
    summary: dict[str, Any] = {}

    async with Client(params, mode="auto") as client:
        summary["auto_version"] = client.protocol_version
        assert client.protocol_version == "2026-07-28", client.protocol_version
        assert client.server_info is not None and client.server_info.name == "mcp-hive"
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"add", "count"} <= names, names
        added = await client.call_tool("add", {"a": 2, "b": 40})
        assert added.structured_content == {"result": 42}, added
        progress: list[float] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append(value)

        counted = await client.call_tool("count", {"number": 3, "intervalMs": 0}, progress_callback=on_progress)
        assert text_of(counted) == "Counted to 3", counted
        summary["auto_progress"] = progress

    async def elicit(context: Any, params: Any) -> ElicitResult:
        return ElicitResult(action="accept", content={"username": "ada", "email": "ada@example.com"})

    async with Client(params, mode="legacy", elicitation_callback=elicit) as client:
        summary["legacy_version"] = client.protocol_version
        assert client.protocol_version == "2025-11-25", client.protocol_version
        elicited = await client.call_tool("test_elicitation", {"message": "Who?"})
        assert "ada" in text_of(elicited), elicited
        summary["legacy_elicitation"] = text_of(elicited)
    return summary


if __name__ == "__main__":
    print(json.dumps(anyio.run(main, sys.argv[1])))
