//! The authorization endpoint end to end through the real actix handlers (in process, on the
//! authorization server's own routes and an in-memory store), for what a browser does:
//!
//! - a request that cannot be trusted (unknown client, unregistered redirect URI, no client id,
//!   a repeated parameter) is an HTML error page with anti-framing headers, never a redirect;
//! - a bad request from a trusted client goes back to its redirect URI with `error`, `state`,
//!   `iss`, keeping the registered query;
//! - the login and consent page escapes what the client controls, carries the request in
//!   hidden fields and a CSRF token that is also an `HttpOnly`, `SameSite=Strict` cookie reused
//!   across pages; a post without the cookie, with another token, a wrong password or tampered
//!   redirect URI issues nothing; deny is `access_denied`; approve issues a code bound to the
//!   client, redirect URI, user, scope, PKCE challenge and resource;
//! - auto-approve issues the code at once, for the client's only redirect URI.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::ServiceResponse;
use actix_web::http::{StatusCode, header};
use actix_web::{App, test, web};
use mcp_hive::authserver::state::{ClientRecord, CodeTake};
use mcp_hive::authserver::{AsState, keys, kv, pages, routes, state};
use std::time::Duration;

/// RFC 7636 Appendix B.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// A registered redirect URI with a query of its own (RFC 6749 §3.1.2 keeps it).
const CB: &str = "http://127.0.0.1:5555/cb?keep=1";
const ISSUER: &str = "http://localhost:3001";
/// A `state` full of markup: it goes into hidden fields and back on the redirect.
const STATE: &str = "s t\"><script>alert(1)</script>";

async fn as_state(auto_approve: bool) -> web::Data<AsState> {
    let mut s = mcp_hive::config::Settings::load_from(&Default::default(), None)
        .expect("default settings")
        .authserver;
    s.auto_approve = auto_approve;
    let st = state::State::new(kv::MemoryKv::new(), "t");
    st.put_client(&ClientRecord {
        client_id: "c1".into(),
        secret_hash: None,
        redirect_uris: vec![CB.into()],
        grant_types: vec!["authorization_code".into()],
        token_endpoint_auth_method: "none".into(),
        scope: None,
        client_name: Some("<Inspector>".into()),
        application_type: "native".into(),
        created_at: 0,
        static_client: false,
    })
    .await
    .expect("client");
    web::Data::new(AsState {
        http: reqwest::Client::new(),
        cimd_cache: moka::future::Cache::builder().build(),
        settings: s,
        issuer: ISSUER.into(),
        state: st,
        keys: keys::SigningKeys::from_pem(&keys::generate_pem().expect("pem")).expect("key"),
    })
}

/// A valid authorization request with `changes` (an empty value removes the parameter).
fn query(changes: &[(&str, &str)]) -> String {
    let mut p = vec![
        ("response_type", "code"),
        ("client_id", "c1"),
        ("redirect_uri", CB),
        ("state", STATE),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("resource", "http://localhost:3000/mcp"),
    ];
    for (k, v) in changes {
        p.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            p.push((k, v));
        }
    }
    serde_urlencoded::to_string(&p).expect("query")
}

/// The query of a redirect to `CB` (asserting that it keeps `keep=1`).
fn location_params(res: &ServiceResponse) -> Vec<(String, String)> {
    assert_eq!(res.status(), StatusCode::FOUND);
    let loc = res
        .headers()
        .get(header::LOCATION)
        .expect("location")
        .to_str()
        .expect("ascii");
    assert!(loc.starts_with("http://127.0.0.1:5555/cb?keep=1&"), "{loc}");
    serde_urlencoded::from_str(loc.split_once('?').expect("query").1).expect("pairs")
}

fn get(v: &[(String, String)], k: &str) -> Option<String> {
    v.iter().find(|(pk, _)| pk == k).map(|(_, x)| x.clone())
}

async fn body_text(res: ServiceResponse) -> String {
    String::from_utf8(test::read_body(res).await.to_vec()).expect("utf-8")
}

fn authorize_get(q: &str) -> test::TestRequest {
    test::TestRequest::get().uri(&format!("/authorize?{q}"))
}

#[actix_web::test]
async fn login_consent_and_csrf() {
    let data = as_state(false).await;
    let app = test::init_service(App::new().app_data(data.clone()).configure(routes)).await;

    // Untrusted client or redirect URI: an error page, no redirect.
    for q in [
        query(&[("client_id", "nope")]),
        query(&[("redirect_uri", "http://evil.example/cb")]),
        query(&[("redirect_uri", "http://127.0.0.1:5555/cb")]),
        query(&[("client_id", "")]),
        format!("{}&state=2", query(&[])),
    ] {
        let res = test::call_service(&app, authorize_get(&q).to_request()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{q}");
        assert!(res.headers().get(header::LOCATION).is_none(), "{q}");
        assert_eq!(res.headers().get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
        assert!(
            res.response().cookies().next().is_none(),
            "{q}: no CSRF cookie"
        );
    }
    // A bad request of a trusted client: back to the client.
    let q = query(&[("code_challenge_method", "plain")]);
    let res = test::call_service(&app, authorize_get(&q).to_request()).await;
    let p = location_params(&res);
    assert_eq!(get(&p, "error").as_deref(), Some("invalid_request"));
    assert_eq!(get(&p, "code"), None);
    assert_eq!(get(&p, "state").as_deref(), Some(STATE));
    assert_eq!(get(&p, "iss").as_deref(), Some(ISSUER));
    assert_eq!(get(&p, "keep").as_deref(), Some("1"));

    // The consent page.
    let res = test::call_service(&app, authorize_get(&query(&[])).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    let cookie = res
        .response()
        .cookies()
        .next()
        .expect("cookie")
        .into_owned();
    assert_eq!(cookie.name(), pages::CSRF_COOKIE);
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Strict));
    assert_eq!(cookie.path(), Some("/authorize"));
    assert_eq!(cookie.value().len(), 43);
    assert_eq!(
        headers.get(header::CONTENT_SECURITY_POLICY).unwrap(),
        pages::CSP
    );
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    let html = body_text(res).await;
    assert!(html.contains("&lt;Inspector&gt;") && !html.contains("<Inspector>"));
    assert!(
        !html.contains("<script>"),
        "state is escaped in the hidden field"
    );
    assert!(html.contains(&format!("name=\"csrf\" value=\"{}\"", cookie.value())));

    // Another page in the same browser reuses the token; a malformed cookie is replaced.
    let res = test::call_service(
        &app,
        authorize_get(&query(&[]))
            .cookie(cookie.clone())
            .to_request(),
    )
    .await;
    let again = res
        .response()
        .cookies()
        .next()
        .expect("cookie")
        .into_owned();
    assert_eq!(again.value(), cookie.value());
    let res = test::call_service(
        &app,
        authorize_get(&query(&[]))
            .cookie(Cookie::new(pages::CSRF_COOKIE, "short"))
            .to_request(),
    )
    .await;
    let fresh = res
        .response()
        .cookies()
        .next()
        .expect("cookie")
        .into_owned();
    assert_ne!(fresh.value(), "short");
    assert_eq!(fresh.value().len(), 43);

    let post = |form: String, with_cookie: bool| {
        let mut r = test::TestRequest::post()
            .uri("/authorize")
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(form);
        if with_cookie {
            r = r.cookie(cookie.clone());
        }
        r.to_request()
    };
    let form = |extra: &str| format!("{}&csrf={}&{extra}", query(&[]), cookie.value());
    let approve = "decision=approve&username=demo&password=demo";

    // CSRF: no cookie, or a form token that differs from the cookie.
    let res = test::call_service(&app, post(form(approve), false)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get(header::LOCATION).is_none());
    let other = format!("{}&csrf={}&{approve}", query(&[]), fresh.value());
    let res = test::call_service(&app, post(other, true)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get(header::LOCATION).is_none());
    // A wrong password: the page again with the error, the username kept.
    let res = test::call_service(
        &app,
        post(form("decision=approve&username=demo&password=x"), true),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get(header::LOCATION).is_none());
    let html = body_text(res).await;
    assert!(html.contains("Wrong username or password"));
    assert!(html.contains("value=\"demo\""));
    // A tampered redirect URI in the hidden fields: a page, not a redirect.
    let t = format!(
        "{}&csrf={}&{approve}",
        query(&[("redirect_uri", "http://evil.example/")]),
        cookie.value()
    );
    let res = test::call_service(&app, post(t, true)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get(header::LOCATION).is_none());
    // No decision.
    let res = test::call_service(&app, post(form("username=demo&password=demo"), true)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Deny.
    let res = test::call_service(&app, post(form("decision=deny"), true)).await;
    let p = location_params(&res);
    assert_eq!(get(&p, "error").as_deref(), Some("access_denied"));
    assert_eq!(get(&p, "code"), None);
    assert_eq!(get(&p, "state").as_deref(), Some(STATE));
    assert_eq!(get(&p, "iss").as_deref(), Some(ISSUER));
    // Approve.
    let res = test::call_service(&app, post(form(approve), true)).await;
    let p = location_params(&res);
    let code = get(&p, "code").expect("code");
    assert_eq!(get(&p, "state").as_deref(), Some(STATE));
    assert_eq!(get(&p, "iss").as_deref(), Some(ISSUER));
    match data
        .state
        .take_code(&code, Duration::from_secs(60))
        .await
        .unwrap()
    {
        CodeTake::Fresh(rec) => {
            assert_eq!(rec.client_id, "c1");
            assert_eq!(rec.redirect_uri, CB);
            assert_eq!(rec.subject, "demo");
            assert_eq!(rec.scope, "mcp:tools");
            assert_eq!(rec.code_challenge, CHALLENGE);
            assert_eq!(rec.resource.as_deref(), Some("http://localhost:3000/mcp"));
        }
        other => panic!("{other:?}"),
    }

    // The form must be a form.
    let res = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/authorize")
            .insert_header((header::CONTENT_TYPE, "text/plain"))
            .cookie(cookie.clone())
            .set_payload(form(approve))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(res.headers().get(header::LOCATION).is_none());
}

#[actix_web::test]
async fn auto_approve_redirects_with_a_code_for_the_only_redirect_uri() {
    let data = as_state(true).await;
    let app = test::init_service(App::new().app_data(data.clone()).configure(routes)).await;
    let q = query(&[("redirect_uri", ""), ("state", ""), ("resource", "")]);
    let res = test::call_service(&app, authorize_get(&q).to_request()).await;
    let p = location_params(&res);
    let code = get(&p, "code").expect("code");
    assert_eq!(get(&p, "state"), None, "no state sent, none returned");
    assert_eq!(get(&p, "iss").as_deref(), Some(ISSUER));
    match data
        .state
        .take_code(&code, Duration::from_secs(60))
        .await
        .unwrap()
    {
        CodeTake::Fresh(rec) => {
            assert_eq!(rec.redirect_uri, CB);
            assert_eq!(rec.resource, None);
            assert_eq!(rec.subject, "demo", "the first demo user");
        }
        other => panic!("{other:?}"),
    }
    // Auto-approve still refuses what cannot be trusted.
    let q = query(&[("redirect_uri", "http://evil.example/cb")]);
    let res = test::call_service(&app, authorize_get(&q).to_request()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get(header::LOCATION).is_none());
}
