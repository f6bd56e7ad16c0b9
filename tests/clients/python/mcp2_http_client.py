"""Client scenario for the dual-era Python SDK (mcp 2.x) over Streamable HTTP, run by
test_http_mcp2.py with the python of .tools/venv-mcp2. Usage:

    mcp2_http_client.py <MCP endpoint URL>

In ``auto`` mode the SDK probes ``server/discover`` and speaks 2026-07-28 (no session, per-request
``_meta``): it lists and calls tools, gets progress over the SSE reply, drives a two-round
multi round-trip request (InputRequiredResult answered by its elicitation callback, retried
with the sealed requestState), and hears a tools/list_changed on a ``subscriptions/listen``
stream. In ``legacy`` mode the same endpoint serves it a 2025-11-25 session. Prints one JSON
summary line; any failed check raises (non-zero exit).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
from mcp import Client
from mcp_types import ElicitResult, TextContent


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def main(url: str) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    asked: list[str] = []

    async def elicit(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        if "color" in params.message:
            return ElicitResult(action="accept", content={"color": "teal"})
        return ElicitResult(action="accept", content={"name": "Ada"})

    async with Client(url, mode="auto", elicitation_callback=elicit) as client:
        summary["auto_version"] = client.protocol_version
        assert client.protocol_version == "2026-07-28", client.protocol_version
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"add", "count", "test_input_required_result_multi_round"} <= names, names
        added = await client.call_tool("add", {"a": 2, "b": 40})
        assert added.structured_content == {"result": 42}, added
        progress: list[float] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append(value)

        counted = await client.call_tool("count", {"number": 3, "intervalMs": 0}, progress_callback=on_progress)
        assert text_of(counted) == "Counted to 3", counted
        summary["auto_progress"] = progress

        rounds = await client.call_tool("test_input_required_result_multi_round", {})
        summary["mrtr"] = text_of(rounds)
        summary["mrtr_questions"] = asked

        async with client.listen(tools_list_changed=True) as sub:
            summary["listen_honored"] = bool(sub.honored and sub.honored.tools_list_changed)
            await client.call_tool("test_trigger_tool_change", {})
            with anyio.fail_after(10):
                async for event in sub:
                    summary["listen_event"] = type(event).__name__
                    break

    async with Client(url, mode="legacy") as client:
        summary["legacy_version"] = client.protocol_version
        added = await client.call_tool("add", {"a": 1, "b": 1})
        assert added.structured_content == {"result": 2}, added
    return summary


if __name__ == "__main__":
    print(json.dumps(anyio.run(main, sys.argv[1])))
