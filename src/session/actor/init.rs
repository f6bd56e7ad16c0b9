//! `initialize` as a message to a session that already exists: the HTTP+SSE transport (MCP
//! 2024-11-05 `basic/transports.mdx`) opens the session at `GET /sse` and stdio at process
//! start, before the client's `initialize` arrives on `POST /messages` or stdin.
//!
//! The negotiated version and the client's capabilities are stored first
//! ([`SessionPatch::Initialized`]), then the actor takes them as its facts, tells the session's
//! actors on other replicas ([`Signal::State`]) and answers with the `InitializeResult`
//! (`basic/lifecycle.mdx`). The actor's mailbox waits meanwhile, so messages that follow
//! `initialize` without waiting for its answer (a pipelined stdio client) see the new facts.

use super::{SessionActor, SessionFacts};
use crate::protocol::jsonrpc::{ErrorObject, Request};
use crate::protocol::server::{Outcome, parse_initialize};
use crate::protocol::version::ProtocolVersion;
use crate::session::handle::SessionHandle;
use crate::session::request::ReplyTarget;
use crate::session::signal::Signal;
use crate::store::SessionPatch;
use actix::prelude::*;
use serde_json::Value;
use std::sync::Arc;

impl SessionActor {
    /// Runs `initialize` for a session opened before it.
    pub(super) fn initialize(
        &mut self,
        ctx: &mut Context<Self>,
        req: Request,
        target: ReplyTarget,
    ) {
        let requested = match parse_initialize(&req.params) {
            Ok(v) => v.to_owned(),
            Err(e) => {
                ctx.spawn(target.deliver(req.id, Outcome::Error(e)).into_actor(self));
                return;
            }
        };
        let version = ProtocolVersion::negotiate(&requested);
        let field = |name: &str| req.params.get(name).cloned().unwrap_or(Value::Null);
        let patch = SessionPatch::Initialized {
            protocol_version: version.as_str().to_owned(),
            client_info: field("clientInfo"),
            client_capabilities: field("capabilities"),
        };
        self.initializing = true;
        let sessions = Arc::clone(&self.deps.sessions);
        let session = Arc::clone(&self.facts.id);
        let stored = async move {
            let res = sessions.update_session(&session, &patch).await;
            (res, patch)
        };
        ctx.wait(stored.into_actor(self).map(move |(res, patch), act, ctx| {
            act.initializing = false;
            let outcome = match res {
                Ok(()) => {
                    act.apply_initialized(ctx, &patch);
                    act.signal(ctx, Signal::State { patch });
                    tracing::info!(session = %act.facts.id, version = %version, requested, "session initialized");
                    Outcome::Result(act.deps.server.initialize_result(version))
                }
                Err(e) => Outcome::Error(ErrorObject::internal(e)),
            };
            ctx.spawn(target.deliver(req.id, outcome).into_actor(act));
        }));
    }

    /// Takes the facts of an `Initialized` patch (once) and publishes the refreshed handle in
    /// the registry's live table.
    pub(super) fn apply_initialized(&mut self, ctx: &mut Context<Self>, patch: &SessionPatch) {
        if self.facts.initialized {
            return;
        }
        let Some(facts) = initialized_facts(&self.facts, patch) else {
            return;
        };
        self.facts = facts;
        let handle = SessionHandle::new(self.facts.clone(), ctx.address());
        self.deps
            .replace_live(&self.facts.id, self.generation, handle);
    }
}

/// The facts of a session once an `Initialized` patch applies (`None` for other patches).
fn initialized_facts(facts: &SessionFacts, patch: &SessionPatch) -> Option<SessionFacts> {
    let SessionPatch::Initialized {
        protocol_version,
        client_capabilities,
        ..
    } = patch
    else {
        return None;
    };
    Some(SessionFacts {
        version: protocol_version
            .parse()
            .unwrap_or(ProtocolVersion::HEADERLESS_DEFAULT),
        client_capabilities: Arc::new(client_capabilities.clone()),
        initialized: true,
        ..facts.clone()
    })
}
