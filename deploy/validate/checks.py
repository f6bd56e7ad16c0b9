#!/usr/bin/env python3
"""Semantic checks of the deployment artifacts, run by scripts/validate-deploy.sh with the
Python of .tools/venv-deploy (PyYAML, stdlib). Schema validity is checked elsewhere
(helm lint, kubernetes-validate, check-jsonschema, docker compose config); this file checks the
promises the artifacts make: no stickiness, only MCP routes public, one state key for every
replica, secrets never in ConfigMaps, the security context, the drain budget, and so on.

    checks.py chart RENDER.yaml NAME        assertions on one `helm template` output
    checks.py config-toml RENDER.yaml       print the server's config.toml of a render
    checks.py compose CONFIG.json NGINX.conf assertions on `docker compose config --format json`
    checks.py compose-env CONFIG.json SERVICE  print `KEY=VALUE` lines of a service's environment
    checks.py compose-config CONFIG.json NAME  print the content of a top-level config
    checks.py realm REALM.json              assertions on the Keycloak realm import
    checks.py dockerfile Dockerfile .dockerignore Cargo.toml
    checks.py nginx-smoke NGINX.conf        run nginx with the conf against two loopback backends

Each prints `ok: ...` lines and exits 1 with `FAIL: ...` lines on the first broken promise.
"""

import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

FAILED = []


def ok(msg):
    print(f"ok: {msg}")


def check(cond, msg):
    if cond:
        ok(msg)
    else:
        print(f"FAIL: {msg}")
        FAILED.append(msg)


def finish():
    if FAILED:
        print(f"{len(FAILED)} check(s) failed", file=sys.stderr)
        sys.exit(1)


# ----------------------------------------------------------------------------- Helm renders


def load_docs(path):
    return [d for d in yaml.safe_load_all(Path(path).read_text()) if d]


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def config_toml(docs):
    cms = by_kind(docs, "ConfigMap")
    assert len(cms) == 1, "expected one ConfigMap"
    return cms[0]["data"]["config.toml"]


def chart(render, name):
    docs = load_docs(render)
    deps = by_kind(docs, "Deployment")
    check(len(deps) == 1, f"[{name}] one Deployment")
    dep = deps[0]
    pod = dep["spec"]["template"]["spec"]
    c = next(x for x in pod["containers"] if x["name"] == "mcp-hive")
    toml_text = config_toml(docs)
    settings = tomllib.loads(toml_text)
    env = {e["name"]: e for e in c.get("env", [])}

    # The image runs `serve` with the rendered file; HOST from the environment.
    check(c["args"][:1] == ["serve"] and "--config" in c["args"], f"[{name}] container runs `serve --config`")
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    check("/etc/mcp-hive" in mounts and "/tmp" in mounts, f"[{name}] config and /tmp mounted")
    check(env.get("HOST", {}).get("value") == "0.0.0.0", f"[{name}] HOST=0.0.0.0")
    check(settings["server"]["port"] == c["ports"][0]["containerPort"] == 3000, f"[{name}] server.port = containerPort 3000")

    # Secrets never in the ConfigMap.
    for key in ("redis_url", "state_key", "client_secret"):
        check(re.search(rf"^\s*{key}\s*=", toml_text, re.M) is None, f"[{name}] no {key} in the ConfigMap")

    # Security context.
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 10001, f"[{name}] pod runs as non-root uid 10001")
    check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"[{name}] seccomp RuntimeDefault")
    check(csc.get("readOnlyRootFilesystem") is True, f"[{name}] read-only root filesystem")
    check(csc.get("allowPrivilegeEscalation") is False, f"[{name}] no privilege escalation")
    check(csc.get("capabilities", {}).get("drop") == ["ALL"], f"[{name}] capabilities drop ALL")
    check(pod.get("automountServiceAccountToken") is False, f"[{name}] no service account token in the pod")

    # Probes.
    check(c["livenessProbe"]["httpGet"]["path"] == "/healthz", f"[{name}] liveness on /healthz")
    check(c["readinessProbe"]["httpGet"]["path"] == "/readyz", f"[{name}] readiness on /readyz")

    # Drain budget: the kubelet waits longer than preStop + drain delay + shutdown timeout.
    pre = 0
    hook = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
    if hook:
        check(hook[0] == "sleep", f"[{name}] preStop hook is a sleep")
        pre = int(hook[1])
    drain = pre + settings["server"].get("drain_delay_secs", 0) + settings["server"]["shutdown_timeout_secs"]
    check(pod["terminationGracePeriodSeconds"] > drain, f"[{name}] terminationGracePeriodSeconds {pod['terminationGracePeriodSeconds']} > drain {drain}")

    # Every secretKeyRef names a key the chart's Secret has (when the chart renders it).
    secrets = {s["metadata"]["name"]: s for s in by_kind(docs, "Secret")}
    for e in c.get("env", []):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref and ref["name"] in secrets:
            check(ref["key"] in secrets[ref["name"]].get("data", {}), f"[{name}] env {e['name']} -> Secret key {ref['key']} exists")

    # Several replicas: Redis and one shared state key.
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    replicas = dep["spec"].get("replicas")
    multi = bool(hpas) or (replicas or 0) > 1
    if multi:
        check("REDIS_URL" in env, f"[{name}] several replicas use Redis (REDIS_URL set)")
        sk = env.get("MCP_STATE_KEY", {}).get("valueFrom", {}).get("secretKeyRef")
        check(sk is not None and not sk.get("optional", False), f"[{name}] several replicas share a required MCP_STATE_KEY")
        check(len(by_kind(docs, "PodDisruptionBudget")) == 1, f"[{name}] PodDisruptionBudget rendered")
    if hpas:
        check(replicas is None, f"[{name}] HPA owns the replica count (no spec.replicas)")
        check(hpas[0]["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"], f"[{name}] HPA targets the Deployment")

    # No stickiness anywhere.
    for svc in by_kind(docs, "Service"):
        check(svc["spec"].get("sessionAffinity", "None") == "None", f"[{name}] Service {svc['metadata']['name']} has no session affinity")
    for ing in by_kind(docs, "Ingress"):
        ann = ing["metadata"].get("annotations", {}) or {}
        sticky = [k for k in ann if "affinity" in k or "session-cookie" in k or "upstream-hash-by" in k]
        check(not sticky, f"[{name}] Ingress has no affinity annotations")
        mcp_path = settings["server"]["mcp_path"]
        base = mcp_path.rstrip("/").rsplit("/", 1)[0]
        allowed = {mcp_path, f"{base}/sse", f"{base}/messages", "/.well-known"}
        paths = {p["path"] for r in ing["spec"]["rules"] for p in r["http"]["paths"]}
        check(paths <= allowed and mcp_path in paths, f"[{name}] Ingress routes only the MCP paths {sorted(paths)}")
        for bad in ("/metrics", "/healthz", "/readyz", "/"):
            check(bad not in paths, f"[{name}] Ingress does not route {bad}")
        if ann.get("nginx.ingress.kubernetes.io/proxy-buffering") is not None:
            check(ann["nginx.ingress.kubernetes.io/proxy-buffering"] == "off", f"[{name}] ingress-nginx buffering off")
            check(int(ann["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600, f"[{name}] ingress-nginx read timeout >= 1 h")
            check(ann.get("nginx.ingress.kubernetes.io/proxy-next-upstream") == "error timeout non_idempotent", f"[{name}] ingress-nginx retries requests that got no response head, POSTs included")

    # Metrics annotations follow the toggle; a ServiceMonitor selects the server Service only.
    ann = dep["spec"]["template"]["metadata"].get("annotations", {}) or {}
    if "prometheus.io/scrape" in ann:
        check(ann.get("prometheus.io/path") == settings.get("metrics", {}).get("path", "/metrics"), f"[{name}] scrape path = metrics.path")
    for sm in by_kind(docs, "ServiceMonitor"):
        sel = sm["spec"]["selector"]["matchLabels"]
        matching = [s for s in by_kind(docs, "Service") if all(s["metadata"]["labels"].get(k) == v for k, v in sel.items())]
        check(len(matching) == 1 and matching[0]["metadata"]["name"] == dep["metadata"]["name"], f"[{name}] ServiceMonitor selects exactly the server Service")

    # Bundled Redis: non-root, only reachable from this release's server pods.
    for sts in by_kind(docs, "StatefulSet"):
        spsc = sts["spec"]["template"]["spec"]["securityContext"]
        check(spsc.get("runAsNonRoot") is True, f"[{name}] bundled Redis runs as non-root")
        args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
        check("--appendonly" in args, f"[{name}] bundled Redis has an appendonly setting")
        check(env.get("REDIS_URL", {}).get("value", "").endswith(f"{sts['metadata']['name']}:6379"), f"[{name}] REDIS_URL points at the bundled Redis")
    finish()


def print_config_toml(render):
    print(config_toml(load_docs(render)))


# ----------------------------------------------------------------------------- compose


def compose(config_json, nginx_conf):
    cfg = json.loads(Path(config_json).read_text())
    services = cfg["services"]
    replicas = sorted(n for n in services if re.fullmatch(r"mcp-\d+", n))
    check(len(replicas) >= 2, f"at least two MCP replicas ({', '.join(replicas)})")
    envs = {n: services[n].get("environment", {}) for n in replicas}
    for key in ("MCP_STATE_KEY", "REDIS_URL", "PUBLIC_URL", "AUTH_TOKEN_MODE", "OAUTH_SERVER_URL"):
        values = {envs[n].get(key) for n in replicas}
        check(len(values) == 1 and None not in values, f"{key} identical on every replica")
    for n in replicas:
        check(envs[n].get("HOST") == "0.0.0.0", f"{n} listens on 0.0.0.0 inside its container")
        check(not services[n].get("ports"), f"{n} is not published (only through the balancer)")
    # Published ports: loopback only.
    for n, s in services.items():
        for p in s.get("ports", []) or []:
            check(p.get("host_ip") == "127.0.0.1", f"{n} publishes {p.get('published')} on 127.0.0.1 only")
    # The balancer's upstreams are exactly the replicas.
    conf = Path(nginx_conf).read_text()
    upstream = re.search(r"upstream\s+mcp_hive\s*\{(.*?)\}", conf, re.S)
    check(upstream is not None, "nginx.conf has the mcp_hive upstream")
    servers = sorted(re.findall(r"^\s*server\s+([\w.-]+):3000\b", upstream.group(1), re.M))
    check(servers == replicas, f"nginx upstream servers {servers} = compose replicas")
    body = re.sub(r"#.*", "", upstream.group(1))
    for word in ("ip_hash", "hash ", "sticky", "least_conn", "random"):
        check(word not in body, f"nginx upstream is plain round-robin (no {word.strip()})")
    directives = re.sub(r"#.*", "", conf)
    for d in ("proxy_buffering off;", "proxy_request_buffering off;", "proxy_cache off;", "proxy_http_version 1.1;", 'proxy_set_header Connection "";', "proxy_next_upstream error timeout non_idempotent;"):
        check(d in directives, f"nginx.conf: {d}")
    for d in ("proxy_read_timeout", "proxy_send_timeout"):
        m = re.search(rf"{d}\s+(\d+)s;", directives)
        check(m is not None and int(m.group(1)) >= 3600, f"nginx.conf: {d} >= 3600s (long-lived SSE)")
    check(not re.search(r"proxy_next_upstream[^;]*http_5", directives), "nginx.conf: 5xx answers are passed to the client, never retried")
    if "keycloak" in services:
        resource = services["keycloak"]["environment"]["MCP_RESOURCE"]
        check(all(resource == envs[n]["PUBLIC_URL"].rstrip("/") + "/mcp" for n in replicas), f"Keycloak's audience mapper value {resource} = PUBLIC_URL + /mcp of the replicas")
    lb = services["lb"]
    check(set(replicas) <= set(lb.get("depends_on", {})), "lb starts after every replica")
    # Issuer hostnames: the replicas announce and expect the issuer that clients on the host
    # see (the demo server's ISSUER_URL, or Keycloak's KC_HOSTNAME + realm), and make their own
    # calls to that same server through its service name.
    issuers = {"auth": services["auth"]["environment"]["ISSUER_URL"]}
    if "keycloak" in services:
        issuers["keycloak"] = services["keycloak"]["environment"]["KC_HOSTNAME"].rstrip("/") + "/realms/mcp"
    for n in replicas:
        e = envs[n]
        provider = next((p for p, iss in issuers.items() if iss == e["OAUTH_SERVER_URL"]), None)
        check(provider is not None and e["JWT_ISSUER"] == e["OAUTH_SERVER_URL"], f"{n}: OAUTH_SERVER_URL = JWT_ISSUER = the issuer clients see ({e['OAUTH_SERVER_URL']})")
        check(re.match(r"http://localhost:\d+", e["OAUTH_SERVER_URL"]) is not None, f"{n}: the issuer is on localhost (reachable from the host's browser)")
        for key in ("OAUTH_INTROSPECT_URL", "JWT_JWKS_URL"):
            host = re.match(r"https?://([^:/]+)", e[key]).group(1)
            check(host == provider, f"{n}: {key} goes to service {host!r}, the issuer's server, on the compose network")
        check(e["PUBLIC_URL"].startswith("http://localhost:") and e["PUBLIC_URL"].endswith(":" + str(lb["ports"][0]["published"])), f"{n}: PUBLIC_URL is the balancer's published URL")
    finish()


def compose_env(config_json, service):
    env = json.loads(Path(config_json).read_text())["services"][service].get("environment", {})
    for k, v in env.items():
        print(f"{k}={'' if v is None else v}")


def compose_config(config_json, name):
    print(json.loads(Path(config_json).read_text())["configs"][name]["content"], end="")


# ----------------------------------------------------------------------------- Keycloak


def realm(path):
    r = json.loads(Path(path).read_text())
    check(r["realm"] == "mcp" and r["enabled"], "realm mcp, enabled")
    scopes = {s["name"]: s for s in r["clientScopes"]}
    t = scopes.get("mcp:tools")
    check(t is not None, "client scope mcp:tools")
    check(t["attributes"].get("include.in.token.scope") == "true", "mcp:tools: include in token scope")
    check("mcp:tools" in r["defaultDefaultClientScopes"], "mcp:tools is a realm default scope (type Default)")
    aud = [m for m in t["protocolMappers"] if m["protocolMapper"] == "oidc-audience-mapper"]
    check(len(aud) == 1 and aud[0]["config"]["included.custom.audience"].endswith("/mcp}"), "mcp:tools has an audience mapper for the MCP resource URL")
    check(aud[0]["config"].get("access.token.claim") == "true" and aud[0]["config"].get("introspection.token.claim") == "true", "audience in access tokens and introspection")
    # A realm import that lists clientScopes gets no built-in scopes: `basic` must be here, or
    # access tokens carry no `sub`.
    basic = scopes.get("basic", {})
    check(any(m["protocolMapper"] == "oidc-sub-mapper" for m in basic.get("protocolMappers", [])), "basic scope with the sub mapper (tokens carry sub)")
    for s in r["defaultDefaultClientScopes"] + [x for x in r.get("defaultOptionalClientScopes", []) if x != "offline_access"]:
        check(s in scopes, f"default scope {s} is defined in the file")
    clients = {c["clientId"]: c for c in r["clients"]}
    mh = clients.get("mcp-hive", {})
    check(mh.get("publicClient") is False and mh.get("secret"), "confidential client mcp-hive with a secret (introspection)")
    check(not mh.get("standardFlowEnabled") and not mh.get("directAccessGrantsEnabled"), "mcp-hive client issues no user tokens")
    test = clients.get("mcp-test", {})
    check(test.get("publicClient") is True and test.get("attributes", {}).get("pkce.code.challenge.method") == "S256", "public test client with PKCE S256")
    policies = r["components"]["org.keycloak.services.clientregistration.policy.ClientRegistrationPolicy"]
    th = [p for p in policies if p["providerId"] == "trusted-hosts" and p["subType"] == "anonymous"]
    check(len(th) == 1 and "localhost" in th[0]["config"]["trusted-hosts"], "anonymous registration: Trusted Hosts policy with localhost")
    finish()


# ----------------------------------------------------------------------------- Dockerfile


def dockerfile(path, dockerignore, cargo_toml):
    text = Path(path).read_text()
    ignore = [l.strip() for l in Path(dockerignore).read_text().splitlines() if l.strip() and not l.startswith("#")]
    check(ignore[0] == "*", ".dockerignore is an allowlist (starts with *)")
    allowed = {l[1:].rstrip("/") for l in ignore if l.startswith("!")}
    builder = text.split("AS runtime")[0]
    for m in re.finditer(r"^COPY\s+(?!--from)(.+?)\s+\S+\s*$", builder, re.M):
        for src in m.group(1).split():
            check(src.rstrip("/") in allowed, f"COPY {src}: in the build context (.dockerignore)")
    cargo = tomllib.loads(Path(cargo_toml).read_text())
    benches = sorted(b["name"] for b in cargo.get("bench", []))
    sed = re.search(r"sed -n '([^']+)' Cargo.toml", text).group(1)
    got = subprocess.run(["sed", "-n", sed, cargo_toml], capture_output=True, text=True, check=True).stdout.split()
    check(sorted(got) == benches, f"placeholder step creates every [[bench]] of Cargo.toml ({', '.join(benches)})")
    check(not cargo.get("example") and not cargo.get("test"), "no [[example]]/[[test]] targets the placeholder step would miss")
    check(re.search(r"^USER 10001(:10001)?$", text, re.M) is not None, "runs as uid 10001")
    check('ENTRYPOINT ["mcp-hive"]' in text and 'CMD ["serve"]' in text, "ENTRYPOINT mcp-hive, CMD serve")
    check("HOST=0.0.0.0" in text, "HOST=0.0.0.0 in the image")
    check("HEALTHCHECK" in text and "/healthz" in text, "HEALTHCHECK on /healthz")
    check("ca-certificates" in text, "CA certificates in the runtime image")
    finish()


# ----------------------------------------------------------------------------- nginx


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Backend(BaseHTTPRequestHandler):
    """A stand-in replica: echoes who it is and the headers the balancer must pass."""

    protocol_version = "HTTP/1.1"
    name = "?"
    seen = None

    def log_message(self, *a):
        pass

    def _reply(self, status, body, ctype="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _echo(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        self.seen.append((self.command, self.path))
        h = {k: self.headers.get(k) for k in ("Authorization", "Mcp-Session-Id", "Last-Event-ID", "MCP-Protocol-Version", "X-Forwarded-For", "Host")}
        self._reply(200, json.dumps({"replica": self.name, "path": self.path, "headers": h, "body": body}))

    def do_POST(self):
        self._echo()

    def do_DELETE(self):
        self._echo()

    def do_GET(self):
        if self.path == "/mcp" and "text/event-stream" in (self.headers.get("Accept") or ""):
            self.seen.append((self.command, self.path))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, pause in ((1, 1.5), (2, 0)):
                ev = f"id: {i}\ndata: {{\"replica\": \"{self.name}\", \"n\": {i}}}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(ev), ev))
                self.wfile.flush()
                time.sleep(pause)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        self._echo()


def start_backend(name):
    seen = []
    handler = type(f"Backend_{name}", (Backend,), {"name": name, "seen": seen})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, seen


def request(url, method="GET", headers=None, body=None, timeout=10):
    req = urllib.request.Request(url, method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def nginx_smoke(conf_path, nginx="/usr/sbin/nginx"):
    a, seen_a = start_backend("a")
    b, seen_b = start_backend("b")
    port = free_port()
    text = Path(conf_path).read_text()
    text = text.replace("server mcp-1:3000", f"server 127.0.0.1:{a.server_address[1]}")
    text = text.replace("server mcp-2:3000", f"server 127.0.0.1:{b.server_address[1]}")
    text = re.sub(r"listen 3000;", f"listen 127.0.0.1:{port};", text)
    check(f"127.0.0.1:{a.server_address[1]}" in text and f"127.0.0.1:{port}" in text, "test copy of nginx.conf points at the loopback backends")
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "nginx.conf"
        # Temp paths inside the test folder (the packaged defaults may not be writable).
        text = text.replace("http {", "http {\n    client_body_temp_path %s/body;\n    proxy_temp_path %s/proxy;\n    fastcgi_temp_path %s/fastcgi;\n    uwsgi_temp_path %s/uwsgi;\n    scgi_temp_path %s/scgi;" % ((tmp,) * 5), 1)
        conf.write_text(text)
        base = [nginx, "-e", "stderr", "-p", tmp, "-c", str(conf), "-g", f"pid {tmp}/nginx.pid; daemon off; user root;"]
        t = subprocess.run(base + ["-t"], capture_output=True, text=True)
        check(t.returncode == 0, "nginx -t accepts the configuration" + ("" if t.returncode == 0 else f": {t.stderr.strip()}"))
        if t.returncode != 0:
            finish()
        proc = subprocess.Popen(base, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    if request(url + "/lb-healthz", timeout=1)[0] == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            check(request(url + "/lb-healthz")[0] == 200, "balancer answers /lb-healthz")

            hdrs = {"Authorization": "Bearer t0k", "Mcp-Session-Id": "s-1", "Last-Event-ID": "0-3", "MCP-Protocol-Version": "2025-11-25", "Content-Type": "application/json", "X-Forwarded-For": "6.6.6.6"}
            replies = [json.loads(request(url + "/mcp", "POST", hdrs, b'{"jsonrpc":"2.0","id":1,"method":"ping"}')[1]) for _ in range(8)]
            order = [r["replica"] for r in replies]
            check(order.count("a") == order.count("b") == 4, f"POST /mcp spread evenly over both replicas, same session id (round-robin, no stickiness): {order}")
            h = replies[0]["headers"]
            check(h["Authorization"] == "Bearer t0k" and h["Mcp-Session-Id"] == "s-1" and h["Last-Event-ID"] == "0-3" and h["MCP-Protocol-Version"] == "2025-11-25", "Authorization, Mcp-Session-Id, Last-Event-ID, MCP-Protocol-Version reach the replica")
            check(h["X-Forwarded-For"] == "127.0.0.1", f"X-Forwarded-For is replaced by the peer address (got {h['X-Forwarded-For']})")
            check(replies[0]["body"].startswith('{"jsonrpc"'), "request body passes")
            for path in ("/sse", "/messages?sessionId=x", "/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-authorization-server"):
                check(request(url + path, "POST" if path.startswith("/messages") else "GET", {"Accept": "application/json"})[0] == 200, f"{path.split('?')[0]} is routed")
            for path in ("/metrics", "/healthz", "/readyz", "/", "/mcp/extra", "/admin"):
                check(request(url + path)[0] == 404, f"{path} is not routed (404 at the balancer)")

            # SSE: the first event arrives before the replica sends the second. (This simple
            # backend gets through nginx's buffering too, so `compose` also checks the directives.)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nMcp-Session-Id: s-1\r\n\r\n")
                t0, data = time.time(), b""
                while b"data:" not in data and time.time() - t0 < 5:
                    data += s.recv(4096)
                first = time.time() - t0
                check(b"data:" in data and first < 1.2, f"first SSE event streamed through unbuffered ({first:.2f}s; the second comes 1.5s later)")
                while b"\r\n0\r\n\r\n" not in data and time.time() - t0 < 5:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                check(data.count(b"data:") == 2, "both SSE events delivered")

            # A replica that refuses connections (stopped or shutting down): POSTs go to the other
            # one, because nothing was sent to the refusing replica.
            b.shutdown()
            b.server_close()
            seen_a.clear()
            codes = [request(url + "/mcp", "POST", hdrs, b"{}")[0] for _ in range(4)]
            check(codes == [200] * 4 and len(seen_a) == 4, f"POSTs retried on the live replica when the other refuses connections: {codes}")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            a.shutdown()
            a.server_close()
    finish()


def main(argv):
    cmds = {
        "chart": chart,
        "config-toml": print_config_toml,
        "compose": compose,
        "compose-env": compose_env,
        "compose-config": compose_config,
        "realm": realm,
        "dockerfile": dockerfile,
        "nginx-smoke": nginx_smoke,
    }
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmds[argv[1]](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
