//! Unit tests of [`super`].

use super::*;

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn settings() -> AuthServerSettings {
    let mut s = crate::config::Settings::load_from(&Default::default(), None)
        .unwrap()
        .authserver;
    s.scopes_supported = vec!["mcp:tools".into(), "mcp:admin".into(), "extra".into()];
    s.default_scope = "mcp:tools".into();
    s
}

fn client() -> ClientRecord {
    ClientRecord {
        client_id: "c1".into(),
        secret_hash: None,
        redirect_uris: vec!["http://127.0.0.1:5555/cb".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        token_endpoint_auth_method: "none".into(),
        scope: Some("mcp:tools mcp:admin".into()),
        client_name: Some("Inspector".into()),
        application_type: "native".into(),
        created_at: 0,
        static_client: false,
    }
}

/// A valid request with `change` applied (`""` removes a parameter).
fn run(c: &ClientRecord, change: &[(&str, &str)]) -> Result<ValidatedRequest, AuthorizeError> {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", "c1"),
        ("redirect_uri", "http://127.0.0.1:5555/cb"),
        ("state", "xyz"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in change {
        pairs.retain(|(pk, _)| pk != k);
        pairs.push((k, v));
    }
    let raw = serde_urlencoded::to_string(&pairs).unwrap();
    validate(
        &settings(),
        Some(c),
        &Params::parse(raw.as_bytes()).unwrap(),
    )
}

fn page_status(r: Result<ValidatedRequest, AuthorizeError>) -> StatusCode {
    match r {
        Err(AuthorizeError::Page { status, .. }) => status,
        other => panic!("expected an error page, got {other:?}"),
    }
}

fn redirected(r: Result<ValidatedRequest, AuthorizeError>) -> &'static str {
    match r {
        Err(AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
            ..
        }) => {
            assert_eq!(redirect_uri, "http://127.0.0.1:5555/cb");
            assert_eq!(state.as_deref(), Some("xyz"));
            error
        }
        other => panic!("expected a redirect, got {other:?}"),
    }
}

#[test]
fn a_valid_request_is_normalised_and_survives_the_consent_form() {
    let r = run(&client(), &[("scope", " mcp:admin  mcp:tools mcp:admin")]).unwrap();
    assert_eq!(r.scope, "mcp:admin mcp:tools");
    assert_eq!(r.redirect_uri, "http://127.0.0.1:5555/cb");
    assert_eq!(r.state.as_deref(), Some("xyz"));
    assert_eq!(r.resource, None);
    let raw = serde_urlencoded::to_string(r.fields()).unwrap();
    let again = validate(
        &settings(),
        Some(&client()),
        &Params::parse(raw.as_bytes()).unwrap(),
    );
    assert_eq!(again.unwrap(), r);
}

#[test]
fn client_and_redirect_uri_problems_never_redirect() {
    let p = Params::parse(b"response_type=code&client_id=zz").unwrap();
    assert_eq!(
        page_status(validate(&settings(), None, &p)),
        StatusCode::BAD_REQUEST
    );
    for bad in [
        "http://127.0.0.1:5555/cb/",
        "http://127.0.0.1:5556/cb",
        "https://evil/cb",
    ] {
        let r = run(
            &client(),
            &[("redirect_uri", bad), ("response_type", "token")],
        );
        assert_eq!(page_status(r), StatusCode::BAD_REQUEST);
    }
    let only = run(&client(), &[("redirect_uri", "")]).unwrap();
    assert_eq!(only.redirect_uri, "http://127.0.0.1:5555/cb");
    let mut two = client();
    two.redirect_uris.push("http://localhost:5555/cb".into());
    assert!(matches!(
        run(&two, &[("redirect_uri", "")]),
        Err(AuthorizeError::Page { .. })
    ));
    assert_eq!(
        run(&two, &[("redirect_uri", "http://localhost:5555/cb")])
            .unwrap()
            .redirect_uri,
        "http://localhost:5555/cb"
    );
}

#[test]
fn other_errors_go_back_to_the_client() {
    let c = client();
    assert_eq!(
        redirected(run(&c, &[("response_type", "token")])),
        "unsupported_response_type"
    );
    assert_eq!(
        redirected(run(&c, &[("response_type", "")])),
        "invalid_request"
    );
    let mut cc = client();
    cc.grant_types = vec!["client_credentials".into()];
    assert_eq!(redirected(run(&cc, &[])), "unauthorized_client");
    for change in [
        ("code_challenge", ""),
        ("code_challenge_method", ""),
        ("code_challenge_method", "plain"),
        ("code_challenge", "too-short"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
        ),
    ] {
        assert_eq!(
            redirected(run(&c, &[change])),
            "invalid_request",
            "{change:?}"
        );
    }
    assert_eq!(
        redirected(run(&c, &[("scope", "unknown")])),
        "invalid_scope"
    );
    assert_eq!(
        redirected(run(&c, &[("scope", "mcp:tools extra")])),
        "invalid_scope"
    );
    for bad in [
        "/mcp",
        "urn:x:y",
        "http://h/mcp#f",
        "ftp://h/x",
        "http:/x",
        "mcp",
    ] {
        assert_eq!(
            redirected(run(&c, &[("resource", bad)])),
            "invalid_target",
            "{bad}"
        );
    }
}

#[test]
fn scope_and_resource_defaults() {
    let r = run(&client(), &[("resource", "http://localhost:3000/mcp")]).unwrap();
    assert_eq!(r.scope, "mcp:tools");
    assert_eq!(r.resource.as_deref(), Some("http://localhost:3000/mcp"));
    let mut any = client();
    any.scope = None;
    assert_eq!(run(&any, &[("scope", "extra")]).unwrap().scope, "extra");
    let mut narrow = client();
    narrow.scope = Some("mcp:admin".into());
    assert_eq!(redirected(run(&narrow, &[])), "invalid_scope");
}

#[test]
fn demo_users_are_checked_exactly() {
    let users = vec![
        DemoUser {
            username: "alice".into(),
            password: "pw1".into(),
        },
        DemoUser {
            username: "bob".into(),
            password: "pw2".into(),
        },
    ];
    assert_eq!(authenticate(&users, "bob", "pw2"), Some("bob"));
    assert_eq!(authenticate(&users, "alice", "pw2"), None);
    assert_eq!(authenticate(&users, "alice", "pw1 "), None);
    assert_eq!(authenticate(&users, "", ""), None);
    assert!(well_formed_csrf(&random_token(32)));
    assert!(!well_formed_csrf("short"));
}
