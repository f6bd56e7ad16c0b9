//! The responses of the authorization endpoint: the login and consent page, the error page shown
//! when a request cannot be sent back to the client (RFC 6749 §4.1.2.1: an unknown client or an
//! unregistered redirect URI is reported to the user, never redirected), redirects to the
//! client, and the CSRF cookie of the consent form.
//!
//! Every interpolated value goes through [`escape`]. Responses carry headers against framing and
//! caching (RFC 6749 §10.13 clickjacking; `Cache-Control: no-store`), a
//! Content Security Policy that allows no script and submits forms only to this origin, and
//! `Referrer-Policy: no-referrer` so the request's `state` and `code_challenge` do not leak.

use super::authorize::ValidatedRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder};

/// The CSRF cookie of the consent form.
pub const CSRF_COOKIE: &str = "mcp_hive_csrf";

/// The Content Security Policy of the pages: no scripts, no external resources, forms post only
/// to this origin, no framing.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;\
padding:2rem 1rem;color:#1d2330}main{max-width:28rem;margin:auto;background:#fff;\
border-radius:8px;padding:1.5rem 2rem;box-shadow:0 1px 4px #0002}h1{font-size:1.3rem}\
code{background:#eef;padding:0 .25rem;border-radius:3px;word-break:break-all}\
label{display:block;margin:.8rem 0 .2rem}input{width:100%;box-sizing:border-box;\
padding:.45rem;font-size:1rem}.buttons{display:flex;gap:.8rem;margin-top:1.2rem}\
button{flex:1;padding:.55rem;font-size:1rem;cursor:pointer}\
.error{background:#fde8e8;color:#8a1c1c;padding:.5rem .8rem;border-radius:4px}\
.small{font-size:.85rem;color:#555}";

/// Escapes text for HTML element content and double- or single-quoted attribute values
/// (the five characters of the OWASP XSS prevention rule #1).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// A response builder with the pages' headers: `text/html; charset=utf-8`, `no-store`,
/// `X-Frame-Options: DENY`, [`CSP`], `Referrer-Policy: no-referrer`, `nosniff`.
pub fn builder(status: StatusCode) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    b
}

fn document(title: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head><body><main>{main}</main></body></html>\n",
        title = escape(title),
    )
}

/// The error page: `message` is plain text (escaped here).
pub fn error(message: &str) -> String {
    document(
        "Authorization error",
        &format!(
            "<h1>Authorization error</h1><p class=\"error\">{}</p>\
<p class=\"small\">The application that sent you here cannot be told about this error. \
Close this page and try again from the application.</p>",
            escape(message)
        ),
    )
}

/// An error page response.
pub fn error_response(status: StatusCode, message: &str) -> HttpResponse {
    builder(status).body(error(message))
}

/// The login and consent page (RFC 6749 §4.1.1: the server authenticates the resource owner
/// and obtains an authorization decision): the client, the scope and the resource, the request
/// and the CSRF token in hidden fields, `username` prefilled and `error` shown after a failed
/// login. The form posts to `authorize`, relative to the page, so it works behind a path prefix.
pub fn consent(r: &ValidatedRequest, csrf: &str, username: &str, error: Option<&str>) -> String {
    let name = r.client_name.as_deref().unwrap_or(&r.client_id);
    let mut m = String::with_capacity(2048);
    m.push_str(&format!(
        "<h1>Sign in to authorize <em>{}</em></h1>",
        escape(name)
    ));
    if let Some(e) = error {
        m.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(e)
        ));
    }
    m.push_str(&format!(
        "<p class=\"small\">Client ID: <code>{}</code><br>Redirects to: <code>{}</code></p>",
        escape(&r.client_id),
        escape(&r.redirect_uri)
    ));
    m.push_str("<p>It asks for:</p><ul>");
    for s in r.scope.split_whitespace() {
        m.push_str(&format!("<li><code>{}</code></li>", escape(s)));
    }
    if r.scope.trim().is_empty() {
        m.push_str("<li>no scope</li>");
    }
    m.push_str("</ul>");
    match &r.resource {
        Some(res) => m.push_str(&format!(
            "<p>on the resource <code>{}</code></p>",
            escape(res)
        )),
        None => m.push_str("<p class=\"small\">No resource named (RFC 8707).</p>"),
    }
    m.push_str("<form method=\"post\" action=\"authorize\">");
    let mut fields = r.fields();
    fields.push(("csrf", csrf));
    for (k, v) in fields {
        m.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(k),
            escape(v)
        ));
    }
    m.push_str(&format!(
        "<label for=\"username\">Username</label><input id=\"username\" name=\"username\" \
autocomplete=\"username\" required autofocus value=\"{}\">\
<label for=\"password\">Password</label><input id=\"password\" name=\"password\" \
type=\"password\" autocomplete=\"current-password\" required>\
<div class=\"buttons\"><button type=\"submit\" name=\"decision\" value=\"approve\">Approve\
</button><button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny\
</button></div></form>",
        escape(username)
    ));
    document(&format!("Authorize {name}"), &m)
}

/// The [`consent`] page with its CSRF token also set as the [`csrf_cookie`].
pub fn consent_response(
    issuer: &str,
    r: &ValidatedRequest,
    csrf: &str,
    status: StatusCode,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    builder(status)
        .cookie(csrf_cookie(issuer, csrf.to_owned()))
        .body(consent(r, csrf, username, error))
}

/// `base` with `pairs` appended to its query, percent-encoded (RFC 6749 §3.1.2: the registered
/// query component is kept; a fragment, which redirect URIs must not have, is dropped). `None`
/// if encoding fails.
pub fn redirect_url(base: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let base = base.split_once('#').map_or(base, |(b, _)| b);
    let query = serde_urlencoded::to_string(pairs).ok()?;
    let sep = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
    };
    Some(format!("{base}{sep}{query}"))
}

/// A `302 Found` to [`redirect_url`] (RFC 6749 §4.1.2), not cached, sending no referrer.
pub fn redirect(base: &str, pairs: &[(&str, &str)]) -> HttpResponse {
    match redirect_url(base, pairs) {
        Some(location) => HttpResponse::Found()
            .insert_header((header::LOCATION, location))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .finish(),
        None => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The redirect URL could not be built.",
        ),
    }
}

/// The CSRF cookie of the consent form (double submit): `HttpOnly`, `SameSite=Strict`, on the
/// authorization endpoint's path under `issuer`, `Secure` when the issuer is https.
pub fn csrf_cookie(issuer: &str, token: String) -> Cookie<'static> {
    let path = reqwest::Url::parse(issuer)
        .map(|u| format!("{}/authorize", u.path().trim_end_matches('/')))
        .unwrap_or_else(|_| "/authorize".to_owned());
    Cookie::build(CSRF_COOKIE, token)
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(issuer.starts_with("https://"))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape(r#"<script>alert('x')</script> & "q""#),
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(escape("plain été"), "plain été");
        assert_eq!(escape(""), "");
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }

    #[test]
    fn consent_escapes_everything_it_shows() {
        let evil = "\"><script>x</script>";
        let r = ValidatedRequest {
            client_id: evil.into(),
            client_name: Some(evil.into()),
            redirect_uri: evil.into(),
            state: Some(evil.into()),
            code_challenge: evil.into(),
            scope: "mcp:tools <b>".into(),
            resource: Some(evil.into()),
        };
        let html = consent(&r, "tok", evil, Some(evil));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("name=\"csrf\" value=\"tok\""));
        assert!(html.contains("action=\"authorize\""));
        let e = error("<img src=x>");
        assert!(!e.contains("<img") && e.contains("&lt;img src=x&gt;"));
    }

    #[test]
    fn pages_carry_security_headers() {
        let res = error_response(StatusCode::BAD_REQUEST, "nope");
        let h = res.headers();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(h.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
        assert_eq!(h.get(header::CACHE_CONTROL).unwrap(), "no-store");
        assert_eq!(h.get(header::CONTENT_SECURITY_POLICY).unwrap(), CSP);
        assert_eq!(h.get(header::REFERRER_POLICY).unwrap(), "no-referrer");
        assert_eq!(
            h.get(header::CONTENT_TYPE).unwrap(),
            "text/html; charset=utf-8"
        );
    }

    #[test]
    fn redirect_urls_keep_the_registered_query_and_encode_values() {
        let pairs = [
            ("code", "a b&c"),
            ("state", "x=y/é"),
            ("iss", "http://localhost:3001"),
        ];
        let enc = "code=a+b%26c&state=x%3Dy%2F%C3%A9&iss=http%3A%2F%2Flocalhost%3A3001";
        let url = |b| redirect_url(b, &pairs).unwrap();
        assert_eq!(
            url("http://127.0.0.1:9/cb"),
            format!("http://127.0.0.1:9/cb?{enc}")
        );
        assert_eq!(
            url("https://app/cb?x=1"),
            format!("https://app/cb?x=1&{enc}")
        );
        assert_eq!(url("https://app/cb?"), format!("https://app/cb?{enc}"));
        assert_eq!(url("https://app/cb#frag"), format!("https://app/cb?{enc}"));
        assert_eq!(
            url("com.example.app:/cb"),
            format!("com.example.app:/cb?{enc}")
        );
        let res = redirect("https://app/cb", &[("error", "access_denied")]);
        assert_eq!(res.status(), StatusCode::FOUND);
        let loc = res.headers().get(header::LOCATION).unwrap();
        assert_eq!(loc, "https://app/cb?error=access_denied");
    }

    #[test]
    fn csrf_cookie_is_strict_and_scoped() {
        let c = csrf_cookie("http://localhost:3001", "t".into());
        assert_eq!(c.name(), CSRF_COOKIE);
        assert_eq!(c.path(), Some("/authorize"));
        assert_eq!(c.http_only(), Some(true));
        assert_eq!(c.same_site(), Some(SameSite::Strict));
        assert_ne!(c.secure(), Some(true));
        let c = csrf_cookie("https://example.com/as/", "t".into());
        assert_eq!(c.path(), Some("/as/authorize"));
        assert_eq!(c.secure(), Some(true));
    }
}
