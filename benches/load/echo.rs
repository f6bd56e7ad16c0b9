//! The baseline of the protocol-overhead scenario: a bare actix-web JSON-RPC "echo" server
//! (`load echo-server`), run as its own process like mcp-hive so that it gets the same cores.
//!
//! It does what any JSON-RPC-over-HTTP server must do and nothing more: parse the POSTed body,
//! compute the `add` result and serialize a response of the same shape as mcp-hive's (text and
//! `structuredContent`). No sessions, no validation, no store: the limit an MCP server on
//! actix-web could reach. `initialize` gets a fixed `Mcp-Session-Id` and notifications a 202, so
//! the load generator drives it like an MCP server. With `--sse` replies are one SSE event in a
//! streamed (chunked) body, like an MCP server answering `tools/call` over SSE.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

async fn handle(body: web::Bytes, sse: web::Data<bool>, _req: HttpRequest) -> HttpResponse {
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    let Some(id) = msg.get("id").cloned() else {
        return HttpResponse::Accepted().finish();
    };
    let reply = if msg["method"] == "initialize" {
        json!({"jsonrpc": "2.0", "id": id, "result": {
            "protocolVersion": msg["params"]["protocolVersion"].clone(),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "echo", "version": "1"}}})
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

/// Serves the echo endpoint at `/mcp` on 127.0.0.1:`port` (0 = any) until killed; prints
/// `listening on http://127.0.0.1:<port>/mcp` once bound.
pub fn serve(port: u16, workers: usize, sse: bool) -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(sse))
                .route("/mcp", web::post().to(handle))
        })
        .workers(workers)
        .bind(("127.0.0.1", port))?;
        let port = server.addrs()[0].port();
        println!("listening on http://127.0.0.1:{port}/mcp");
        server.run().await
    })
}
