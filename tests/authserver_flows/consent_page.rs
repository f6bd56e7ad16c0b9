//! The login and consent page (`AUTH_AUTO_APPROVE=false`): the CSRF double-submit cookie, a
//! wrong password, deny and approve.

use super::*;

/// Extracts the value of the hidden input `name` from the consent page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("hidden field") + marker.len();
    let end = html[start..].find('"').expect("end of value");
    html[start..start + end].to_owned()
}

#[tokio::test]
async fn login_and_consent_page_issues_a_code_after_a_real_login() {
    let auth = auth_server(&[("AUTH_AUTO_APPROVE", "false")], "").await;
    let cb = callback("consent");
    let client_id = auth.register_public(&cb).await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, &cb, &pkce, Some(RESOURCE));
    let res = auth.authorize_raw(&req.query()).await;
    assert_eq!(res.status(), StatusCode::OK, "the login and consent page");
    let cookie = res
        .headers()
        .get("set-cookie")
        .expect("CSRF cookie")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("mcp_hive_csrf="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/authorize"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_owned();
    let html = res.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    assert_eq!(pair, format!("mcp_hive_csrf={csrf}"), "double submit");
    assert!(html.contains(RESOURCE), "the page names the resource");

    let post = |decision: &'static str, password: &'static str, cookie: Option<String>| {
        let mut form: Vec<(String, String)> = req
            .query()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        for (k, v) in [
            ("csrf", csrf.as_str()),
            ("decision", decision),
            ("username", DEMO_USER),
            ("password", password),
        ] {
            form.push((k.to_owned(), v.to_owned()));
        }
        let mut rb = http().post(auth.url("/authorize")).form(&form);
        if let Some(c) = cookie {
            rb = rb.header("Cookie", c);
        }
        rb.send()
    };
    // Without the cookie (a cross-site post): refused, nothing issued.
    let res = post("approve", "demo", None).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("location").is_none());
    // A wrong password: the page again, 401.
    let res = post("approve", "wrong", Some(pair.clone())).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get("location").is_none());
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Wrong username or password")
    );
    // Deny: access_denied on the redirect URI.
    let res = post("deny", "", Some(pair.clone())).await.unwrap();
    let denied = Redirect::of(&res).expect("redirect");
    assert_eq!(denied.base, cb);
    assert_eq!(denied.get("error"), Some("access_denied"));
    assert_eq!(denied.get("code"), None);
    assert_eq!(denied.get("iss"), Some(auth.issuer.as_str()));
    // Approve with the right password.
    let res = post("approve", "demo", Some(pair)).await.unwrap();
    let ok = Redirect::of(&res).expect("redirect");
    assert_eq!(ok.base, cb);
    assert_eq!(ok.get("state"), Some("xyz"));
    assert_eq!(ok.get("iss"), Some(auth.issuer.as_str()));
    let code = ok.get("code").expect("code");
    let reply = auth.redeem(&req, code, &pkce.verifier).await;
    let info = auth.introspect(reply.access_token(), RS).await;
    assert_eq!(info["sub"], DEMO_USER, "{info}");
    assert_eq!(info["aud"], RESOURCE, "{info}");
}
