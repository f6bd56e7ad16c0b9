# syntax=docker/dockerfile:1
#
# One image for every mcp-hive role: `serve` (the MCP server, the default command), `auth` (the
# demo OAuth authorization server), `sessions ...` (the Redis session tool) and `serve --stdio`.
#
#   docker build -t mcp-hive .
#   docker run --rm -p 127.0.0.1:3000:3000 -e DISABLE_AUTH=true mcp-hive
#   docker run --rm -p 127.0.0.1:3001:3001 mcp-hive auth
#
# Stage 1 builds a release binary; the dependency graph is compiled in its own layer (from the
# manifests only, against placeholder sources), so editing src/ recompiles mcp-hive alone.
# Stage 2 is debian:bookworm-slim with CA certificates (rediss:// and https issuers are checked
# against the system roots), curl for the HEALTHCHECK, and sleep for a Kubernetes preStop hook.

ARG RUST_VERSION=1
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src

# Dependencies first: the real Cargo.toml/Cargo.lock with empty placeholder targets (a main, a
# lib, and one file per [[bench]] the manifest names, since cargo checks that they exist).
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && : > src/lib.rs \
    && sed -n '/^\[\[bench\]\]/,/^$/ s/^name *= *"\([^"]*\)".*/\1/p' Cargo.toml \
       | while read -r bench; do echo 'fn main() {}' > "benches/${bench}.rs"; done \
    && cargo build --release --locked --bin mcp-hive \
    && rm -rf src benches

# The real sources. `touch` makes sure cargo sees them as newer than the placeholder build.
COPY config ./config
COPY benches ./benches
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin mcp-hive \
    && install -D -m 0755 target/release/mcp-hive /out/mcp-hive

FROM debian:${DEBIAN_RELEASE}-slim AS runtime

# Unpinned on purpose: the latest bookworm security updates of these two are wanted at build time.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

# A fixed numeric uid/gid (10001) so Kubernetes `runAsNonRoot` can verify it without a passwd
# lookup; no home directory and no login shell. The binary writes nothing to disk.
RUN groupadd --system --gid 10001 mcp \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin mcp

COPY --from=builder /out/mcp-hive /usr/local/bin/mcp-hive

# In a container the servers must listen on every interface (the compiled-in default is
# 127.0.0.1, right for a laptop, wrong behind a port mapping or a Service). Keep auth ON.
ENV HOST=0.0.0.0 \
    AUTH_HOST=0.0.0.0

USER 10001:10001
# 3000: the MCP server (`serve`, PORT); 3001: the demo authorization server (`auth`, AUTH_PORT).
EXPOSE 3000 3001

# Liveness for plain Docker / compose (Kubernetes uses its own probes on /healthz and /readyz).
# The same image runs either server, so the check tries the MCP server's /healthz on PORT first,
# then the authorization server's /healthz on AUTH_PORT. If you move a server to another port
# through a --config file instead of PORT / AUTH_PORT, set the env var too (or override the check).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/bin/sh", "-c", "curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:${PORT:-3000}/healthz || curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:${AUTH_PORT:-3001}/healthz || exit 1"]

ENTRYPOINT ["mcp-hive"]
CMD ["serve"]
