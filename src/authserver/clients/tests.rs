//! Unit tests of [`super`].

use super::*;

fn scopes() -> Vec<String> {
    vec!["mcp:tools".into(), "mcp:admin".into()]
}

#[test]
fn static_clients() {
    let c = |secret: &str, uris: Vec<String>, grants: Vec<String>| StaticClient {
        client_id: "svc".into(),
        client_secret: secret.into(),
        redirect_uris: uris,
        grant_types: grants,
        scope: String::new(),
        client_name: String::new(),
    };
    let m = static_metadata(&c("s", vec![], vec![]), &scopes()).unwrap();
    assert_eq!(m.grant_types, vec!["client_credentials"]);
    assert_eq!(m.token_endpoint_auth_method, "client_secret_basic");
    let m = static_metadata(
        &c("", vec!["http://127.0.0.1/cb".into()], vec![]),
        &scopes(),
    )
    .unwrap();
    assert_eq!(m.grant_types, vec!["authorization_code", "refresh_token"]);
    assert!(static_metadata(&c("", vec![], vec![]), &scopes()).is_err());
    assert!(
        static_metadata(
            &c("s", vec![], vec!["authorization_code".into()]),
            &scopes()
        )
        .is_err()
    );
}

#[test]
fn basic_header_parsing() {
    // "my%20id:p%2Bw" and "a:b:c"
    assert_eq!(
        parse_basic("Basic bXklMjBpZDpwJTJCdw=="),
        Ok(Some(("my%20id".into(), "p%2Bw".into())))
    );
    assert_eq!(
        parse_basic("basic YTpiOmM="),
        Ok(Some(("a".into(), "b:c".into())))
    );
    assert_eq!(parse_basic("Bearer abc"), Ok(None));
    assert!(parse_basic("Basic !!!").is_err());
    assert!(parse_basic("Basic YWJj").is_err()); // "abc": no colon
    assert_eq!(basic_candidates("my%20id"), vec!["my id", "my%20id"]);
    assert_eq!(basic_candidates("p%2Bw"), vec!["p+w", "p%2Bw"]);
    assert_eq!(basic_candidates("a+b"), vec!["a b", "a+b"]);
    assert_eq!(basic_candidates("100%"), vec!["100%"]);
    assert_eq!(basic_candidates("%+1x"), vec!["%+1x"]);
    assert_eq!(basic_candidates("plain"), vec!["plain"]);
}

fn state(allow_private: bool) -> web::Data<AsState> {
    let mut s = crate::config::Settings::load_from(&Default::default(), None)
        .unwrap()
        .authserver;
    s.scopes_supported = scopes();
    s.cimd_allow_private = allow_private;
    let pem = crate::authserver::keys::generate_pem().unwrap();
    web::Data::new(AsState {
        http: cimd::client(std::time::Duration::from_secs(2), allow_private).unwrap(),
        cimd_cache: moka::future::Cache::new(10),
        issuer: "http://localhost:3001".into(),
        state: crate::authserver::state::State::new(crate::authserver::kv::MemoryKv::new(), "t"),
        keys: crate::authserver::keys::SigningKeys::from_pem(&pem).unwrap(),
        settings: s,
    })
}

async fn auth(st: &AsState, basic: Option<&str>, form: &str) -> Result<ClientRecord, String> {
    use base64::Engine as _;
    let mut req = actix_web::test::TestRequest::default();
    if let Some(b) = basic {
        let v = base64::engine::general_purpose::STANDARD.encode(b);
        req = req.insert_header((header::AUTHORIZATION, format!("Basic {v}")));
    }
    let params = Params::parse(form.as_bytes()).unwrap();
    authenticate(st, &req.to_http_request(), &params, true)
        .await
        .map_err(|e| e.code().to_owned())
}

#[actix_web::test]
async fn register_then_authenticate() {
    let st = state(false);
    let body = r#"{"client_name":"cli","redirect_uris":["https://oauth.pstmn.io/v1/callback"],"grant_types":["authorization_code"],"response_types":["code"],"token_endpoint_auth_method":"client_secret_post","scope":"mcp:tools"}"#;
    let req = actix_web::test::TestRequest::post()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .to_http_request();
    let res = register(req, web::Bytes::from(body), st.clone())
        .await
        .unwrap();
    assert_eq!(res.status(), actix_web::http::StatusCode::CREATED);
    let out: Value =
        serde_json::from_slice(&actix_web::body::to_bytes(res.into_body()).await.unwrap()).unwrap();
    let (id, secret) = (
        out["client_id"].as_str().unwrap(),
        out["client_secret"].as_str().unwrap(),
    );
    assert_eq!(out["client_secret_expires_at"], 0);
    let form = format!("client_id={id}&client_secret={secret}");
    assert_eq!(auth(&st, None, &form).await.unwrap().client_id, id);
    assert_eq!(
        auth(&st, Some(&format!("{id}:{secret}")), "")
            .await
            .unwrap()
            .client_id,
        id
    );
    assert_eq!(
        auth(&st, Some(&format!("{id}:{secret}")), &form)
            .await
            .unwrap_err(),
        "invalid_request"
    );
    assert_eq!(
        auth(&st, None, &format!("client_id={id}&client_secret=x"))
            .await
            .unwrap_err(),
        "invalid_client"
    );
    assert_eq!(
        auth(&st, None, &format!("client_id={id}"))
            .await
            .unwrap_err(),
        "invalid_client"
    );
    assert_eq!(
        auth(&st, None, "client_id=nobody&client_secret=x")
            .await
            .unwrap_err(),
        "invalid_client"
    );
    let req = actix_web::test::TestRequest::post().to_http_request();
    let err = register(req, web::Bytes::from(body), st.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_client_metadata");
}

#[actix_web::test]
async fn metadata_documents_are_fetched_and_public() {
    let st = state(true);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/client.json",
        listener.local_addr().unwrap().port()
    );
    let doc = json!({"client_id": url, "redirect_uris": ["http://127.0.0.1:9/cb"]});
    let server = actix_web::HttpServer::new(move || {
        let doc = doc.clone();
        actix_web::App::new().route(
            "/client.json",
            web::get().to(move || {
                let doc = doc.clone();
                async move { HttpResponse::Ok().json(doc) }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let c = find(&st, &url).await.unwrap().unwrap();
    assert_eq!(c.token_endpoint_auth_method, "none");
    assert_eq!(
        auth(&st, None, &format!("client_id={url}"))
            .await
            .unwrap()
            .client_id,
        url
    );
    assert_eq!(
        auth(&st, None, &format!("client_id={url}&client_secret=x"))
            .await
            .unwrap_err(),
        "invalid_client"
    );
    assert!(
        find(&st, &url.replace("client", "other"))
            .await
            .unwrap()
            .is_none()
    );
    handle.stop(false).await;
    assert!(find(&state(false), &url).await.unwrap().is_none());
}
