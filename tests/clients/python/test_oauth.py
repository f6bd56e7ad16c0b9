"""The official MCP Python SDK (mcp 1.x) against mcp-hive as an OAuth 2.1 resource server.

A real third-party authorization server (oidc-provider, run by
tests/clients/ts/oidc-provider-cli.mjs with the Node on PATH: scripts/lib.sh
puts Node 22 there) issues JWT access tokens for the MCP resource with the
client_credentials grant; mcp-hive runs in jwt mode and finds the JWKS
through the issuer's metadata.

Run: .tools/venv/bin/pytest tests/clients/python   (see scripts/test-all.sh)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
from conftest import REPO_ROOT, McpHiveServer, start_server
from mcp import ClientSession, types
from mcp.client.auth import TokenStorage
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

pytestmark = pytest.mark.anyio

MCP_SCOPE = "mcp:tools"
AS_CLI = REPO_ROOT / "tests" / "clients" / "ts" / "oidc-provider-cli.mjs"
AS_START_TIMEOUT_S = 30.0


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


@dataclass
class AuthorizationServer:
    """tests/clients/ts/oidc-provider-cli.mjs, running as a child process."""

    process: subprocess.Popen
    info: dict[str, Any]
    stderr_path: Path

    @property
    def issuer(self) -> str:
        return self.info["issuer"]

    @property
    def token_url(self) -> str:
        return self.info["tokenUrl"]

    def client(self, name: str) -> dict[str, str]:
        return self.info["clients"][name]

    def set_resource(self, resource: str) -> None:
        """Tell the AS the MCP resource (known once mcp-hive listens); waits for its ack."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"resource {resource}\n")
        self.process.stdin.flush()
        ack = _read_json_line(self.process, AS_START_TIMEOUT_S, self.stderr_path)
        assert ack.get("resource") == resource, ack

    def token(self, client: str = "mcpClient", scope: str | None = MCP_SCOPE, resource: str | None = None) -> str:
        """A raw client_credentials token request (client_secret_basic)."""
        creds = self.client(client)
        data = {"grant_type": "client_credentials"}
        if scope:
            data["scope"] = scope
        if resource:
            data["resource"] = resource
        res = httpx.post(self.token_url, data=data, auth=(creds["clientId"], creds["clientSecret"]), timeout=10)
        assert res.status_code == 200, f"token request failed: {res.status_code} {res.text}"
        return res.json()["access_token"]

    def stop(self) -> None:
        proc = self.process
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdin:
            proc.stdin.close()
        if proc.stdout:
            proc.stdout.close()


def _read_json_line(proc: subprocess.Popen, timeout: float, stderr_path: Path) -> dict[str, Any]:
    """The next stdout line of the AS process, parsed as JSON (fails the test on timeout/exit)."""
    result: dict[str, Any] = {}

    def read() -> None:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        result["line"] = line

    reader = threading.Thread(target=read, name="oidc-provider-stdout", daemon=True)
    reader.start()
    reader.join(timeout)
    line = result.get("line")
    if not line:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        pytest.fail(
            f"oidc-provider-cli gave no JSON line (exit code {proc.returncode})\n--- stderr ---\n"
            + stderr_path.read_text(errors="replace")[-8000:]
        )
    return json.loads(line)


def start_authorization_server(workdir: Path, fmt: str = "jwt") -> AuthorizationServer:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node not found on PATH (source scripts/lib.sh for Node >= 22)")
    if not (REPO_ROOT / "tests" / "clients" / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("oidc-provider is not installed: run npm ci in tests/clients (scripts/install-test-deps.sh)")
    stderr_path = workdir / "oidc-provider.stderr"
    with stderr_path.open("wb") as stderr_file:
        proc = subprocess.Popen(
            [node, str(AS_CLI), "--format", fmt, "--exit-on-stdin-eof"],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            text=True,
            bufsize=1,
        )
    info = _read_json_line(proc, AS_START_TIMEOUT_S, stderr_path)
    return AuthorizationServer(process=proc, info=info, stderr_path=stderr_path)


@dataclass
class OAuthStack:
    auth_server: AuthorizationServer
    server: McpHiveServer

    @property
    def resource(self) -> str:
        return self.server.mcp_url


@pytest.fixture(scope="module")
def oauth_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthStack]:
    """oidc-provider (JWT access tokens) + mcp-hive in jwt mode, auth enabled."""
    workdir = tmp_path_factory.mktemp("mcp-hive-oauth")
    auth_server = start_authorization_server(workdir, "jwt")
    server = None
    try:
        server = start_server(
            {
                "AUTH_TOKEN_MODE": "jwt",
                "OAUTH_SERVER_URL": auth_server.issuer,
                "JWT_ISSUER": auth_server.issuer,
                "MCP_SCOPE": MCP_SCOPE,
            },
            workdir=workdir,
            disable_auth=False,
        )
        auth_server.set_resource(server.mcp_url)
        yield OAuthStack(auth_server=auth_server, server=server)
    finally:
        if server is not None:
            server.stop()
        auth_server.stop()


@asynccontextmanager
async def connect(url: str, http_client: httpx.AsyncClient) -> AsyncIterator[tuple[ClientSession, types.InitializeResult]]:
    async with http_client:
        async with streamable_http_client(url, http_client=http_client) as (read, write, _):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                yield session, init


async def test_unauthenticated_post_gets_401(oauth_stack: OAuthStack):
    async with httpx.AsyncClient(timeout=10) as http:
        res = await http.post(
            oauth_stack.server.mcp_url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": types.LATEST_PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "mcp-hive-pytest-raw", "version": "0"},
                },
            },
            headers={"Accept": "application/json, text/event-stream"},
        )
    assert res.status_code == 401, res.text
    www = res.headers.get("www-authenticate", "")
    assert "Bearer" in www, www
    prm_url = oauth_stack.server.base_url + "/.well-known/oauth-protected-resource/mcp"
    assert f'resource_metadata="{prm_url}"' in www, www


async def test_session_with_bearer_token(oauth_stack: OAuthStack):
    token = oauth_stack.auth_server.token(resource=oauth_stack.resource)
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with connect(oauth_stack.server.mcp_url, http) as (session, init):
        assert init.capabilities.tools is not None
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"add", "greet"} <= names, names
        add = await session.call_tool("add", {"a": 2, "b": 3})
        assert not add.isError, add
        assert "5" in text_of(add)


class _MemoryTokenStorage(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


async def test_sdk_client_credentials_provider(oauth_stack: OAuthStack):
    """The SDK's own OAuth flow: 401 -> protected resource metadata -> AS metadata -> token."""
    creds = oauth_stack.auth_server.client("mcpClient")
    storage = _MemoryTokenStorage()
    auth = ClientCredentialsOAuthProvider(
        server_url=oauth_stack.server.mcp_url,
        storage=storage,
        client_id=creds["clientId"],
        client_secret=creds["clientSecret"],
        scopes=MCP_SCOPE,
        issuer=oauth_stack.auth_server.issuer,
    )
    http = create_mcp_http_client(auth=auth)
    async with connect(oauth_stack.server.mcp_url, http) as (session, _):
        add = await session.call_tool("add", {"a": 2, "b": 3})
        assert not add.isError, add
        assert "5" in text_of(add)
    assert storage.tokens is not None and storage.tokens.access_token


async def test_garbage_token_gets_401(oauth_stack: OAuthStack):
    async with httpx.AsyncClient(timeout=10) as http:
        res = await http.post(
            oauth_stack.server.mcp_url,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Accept": "application/json, text/event-stream", "Authorization": "Bearer not-a-real-token"},
        )
    assert res.status_code == 401, res.text
    assert 'error="invalid_token"' in res.headers.get("www-authenticate", "")
