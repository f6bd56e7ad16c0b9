//! The baselines of the protocol-overhead and stream scenarios: a bare actix-web JSON-RPC "echo"
//! server (`load echo-server`), run as its own process like mcp-hive so that it gets the same
//! cores.
//!
//! It does what any JSON-RPC-over-HTTP server must do and nothing more: parse the POSTed body,
//! compute the `add` result and serialize a response of the same shape as mcp-hive's (text and
//! `structuredContent`). No sessions, no validation, no store: the limit an MCP server on
//! actix-web could reach. `initialize` gets a fixed `Mcp-Session-Id` and notifications a 202, so
//! the load generator drives it like an MCP server. With `--sse` replies are one SSE event in a
//! streamed (chunked) body, like an MCP server answering `tools/call` over SSE.
//!
//! For the stream scenario it is the fan-out limit: a `GET` opens an SSE stream (a priming event,
//! then whatever is broadcast), `resources/subscribe` is accepted, and `tools/call` of `notify`
//! broadcasts one `notifications/resources/updated` event to every open stream through one
//! `tokio::sync::broadcast` channel (one shared buffer, no per-stream log, nothing resumable) and
//! returns the announcement time in the shape of mcp-hive's `notify` (`announcedAtUs`).

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// The broadcast channel of every open `GET` stream.
struct Hub(broadcast::Sender<web::Bytes>);

/// Announces `uri` to every open stream; returns the announcement time (µs since the epoch).
fn announce(hub: &Hub, uri: &Value) -> u64 {
    let at = crate::streams::now_us();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/resources/updated",
        "params": {"uri": uri}});
    // No stream open is not an error: nobody is listening.
    let _ = hub.0.send(web::Bytes::from(format!(
        "event: message\ndata: {note}\n\n"
    )));
    at
}

async fn handle(
    body: web::Bytes,
    sse: web::Data<bool>,
    hub: web::Data<Hub>,
    _req: HttpRequest,
) -> HttpResponse {
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    let Some(id) = msg.get("id").cloned() else {
        return HttpResponse::Accepted().finish();
    };
    let reply = if msg["method"] == "initialize" {
        json!({"jsonrpc": "2.0", "id": id, "result": {
            "protocolVersion": msg["params"]["protocolVersion"].clone(),
            "capabilities": {"tools": {}, "resources": {"subscribe": true}},
            "serverInfo": {"name": "echo", "version": "1"}}})
    } else if msg["method"] == "resources/subscribe" {
        json!({"jsonrpc": "2.0", "id": id, "result": {}})
    } else if msg["params"]["name"] == "notify" {
        let uri = &msg["params"]["arguments"]["uri"];
        let at = announce(&hub, uri);
        json!({"jsonrpc": "2.0", "id": id, "result": {
            "content": [{"type": "text", "text": format!("announced {uri} at {at}")}],
            "structuredContent": {"uri": uri, "announcedAtUs": at}}})
    } else {
        let args = &msg["params"]["arguments"];
        let (a, b) = (
            args["a"].as_f64().unwrap_or(0.0),
            args["b"].as_f64().unwrap_or(0.0),
        );
        let sum = a + b;
        json!({"jsonrpc": "2.0", "id": id, "result": {
            "content": [{"type": "text", "text": format!("The sum of {a} and {b} is {sum}")}],
            "structuredContent": {"result": sum}}})
    };
    let mut res = HttpResponse::Ok();
    if msg["method"] == "initialize" {
        res.insert_header(("Mcp-Session-Id", "echo"));
    }
    if **sse {
        let event = web::Bytes::from(format!("event: message\ndata: {reply}\n\n"));
        res.content_type("text/event-stream")
            .streaming(futures_util::stream::once(async move {
                Ok::<_, actix_web::Error>(event)
            }))
    } else {
        res.content_type("application/json").body(reply.to_string())
    }
}

/// A `GET` stream: a priming event, then every broadcast event until the server stops. A stream
/// that fell behind the channel skips what it missed (the scenario never lets one fall behind).
async fn stream(hub: web::Data<Hub>) -> HttpResponse {
    let priming = futures_util::stream::once(async {
        Ok::<_, actix_web::Error>(web::Bytes::from_static(b"id: 0\ndata: \n\n"))
    });
    let updates = futures_util::stream::unfold(hub.0.subscribe(), |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(event) => return Some((Ok::<_, actix_web::Error>(event), rx)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(futures_util::StreamExt::chain(priming, updates))
}

/// Serves the echo endpoint at `/mcp` on 127.0.0.1:`port` (0 = any) until killed; prints
/// `listening on http://127.0.0.1:<port>/mcp` once bound.
pub fn serve(port: u16, workers: usize, sse: bool) -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let hub = web::Data::new(Hub(broadcast::channel(64).0));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(sse))
                .app_data(hub.clone())
                .route("/mcp", web::post().to(handle))
                .route("/mcp", web::get().to(stream))
        })
        .workers(workers)
        .bind(("127.0.0.1", port))?;
        let port = server.addrs()[0].port();
        println!("listening on http://127.0.0.1:{port}/mcp");
        server.run().await
    })
}
