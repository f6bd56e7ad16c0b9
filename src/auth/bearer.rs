//! Finding the bearer token of a request (RFC 6750 §2): only the `Authorization: Bearer` header
//! is accepted. A token in the query string is refused (MCP, every revision: "Access tokens
//! MUST NOT be included in the URI query string"; RFC 6750 §2.3 is not supported), as are
//! several `Authorization` headers. The token's syntax (`b64token`, RFC 6750 §2.1) and length are
//! checked here so garbage never reaches the authorization server.

use super::challenge::AuthError;
use actix_web::http::header::{self, HeaderMap};

/// The bearer token of a request, or `None` when the request carries no credentials at all.
pub fn token<'a>(
    headers: &'a HeaderMap,
    query: &str,
    max_len: usize,
) -> Result<Option<&'a str>, AuthError> {
    if query_has_token(query) {
        return Err(AuthError::InvalidRequest(
            "access tokens must not be sent in the URI query string; use the Authorization header",
        ));
    }
    let mut values = headers.get_all(header::AUTHORIZATION);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::InvalidRequest(
            "more than one Authorization header",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::InvalidToken("the Authorization header is not ASCII".into()))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme (Basic, DPoP...): no bearer credentials; challenge for one.
        return Ok(None);
    }
    let token = rest.trim_matches(' ');
    if token.is_empty() {
        return Err(AuthError::InvalidToken("empty bearer token".into()));
    }
    if token.len() > max_len {
        return Err(AuthError::InvalidToken(format!(
            "bearer token longer than {max_len} bytes"
        )));
    }
    if !is_b64token(token) {
        return Err(AuthError::InvalidToken("malformed bearer token".into()));
    }
    Ok(Some(token))
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| B64TOKEN_CHAR[usize::from(b)])
}

/// The characters of RFC 6750 `b64token` before its `=` padding, as a table (every request
/// with a bearer token runs every byte of it through this).
const B64TOKEN_CHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] =
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        i += 1;
    }
    table
};

/// Whether a query parameter's name, percent-decoded as a form would be, is `access_token`
/// (any spelling: `access%5Ftoken`, `%61ccess_token`, ...).
fn query_has_token(query: &str) -> bool {
    let literal = || {
        query.split('&').any(|pair| {
            let key = pair.split_once('=').map_or(pair, |(k, _)| k);
            key.eq_ignore_ascii_case("access_token")
        })
    };
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).map_or_else(
        |_| literal(),
        |pairs| {
            pairs
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("access_token"))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                HeaderName::from_static("authorization"),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn b64token_table_is_the_rfc_6750_alphabet() {
        for b in 0..=255u8 {
            let rfc = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(B64TOKEN_CHAR[usize::from(b)], rfc, "byte {b}");
        }
        assert!(is_b64token("a-._~+/9=="));
        assert!(!is_b64token("a=b") && !is_b64token("=") && !is_b64token("é"));
    }

    #[test]
    fn extracts_bearer_tokens() {
        let h = headers(&["Bearer abc.DEF-_~+/=="]);
        assert_eq!(token(&h, "", 100).unwrap(), Some("abc.DEF-_~+/=="));
        let h = headers(&["bearer  xyz"]);
        assert_eq!(token(&h, "", 100).unwrap(), Some("xyz"));
        assert_eq!(token(&headers(&[]), "", 100).unwrap(), None);
        assert_eq!(
            token(&headers(&["Basic dXNlcjpwdw=="]), "", 100).unwrap(),
            None
        );
    }

    #[test]
    fn refuses_bad_placements_and_syntax() {
        let h = headers(&[]);
        assert!(matches!(
            token(&h, "a=1&access_token=x", 100),
            Err(AuthError::InvalidRequest(_))
        ));
        // Percent-encoded names are decoded first (the bearer_token fuzz property).
        for query in [
            "access%5Ftoken=x",
            "%61ccess_token=x",
            "x=1&ACCESS%5fTOKEN",
            "access_token",
        ] {
            assert!(
                matches!(token(&h, query, 100), Err(AuthError::InvalidRequest(_))),
                "{query:?}"
            );
        }
        assert_eq!(token(&h, "access+token=x&token=y", 100).unwrap(), None);
        assert!(matches!(
            token(&headers(&["Bearer a", "Bearer b"]), "", 100),
            Err(AuthError::InvalidRequest(_))
        ));
        for bad in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a\"b",
            "Bearer ===",
        ] {
            assert!(
                matches!(
                    token(&headers(&[bad]), "", 100),
                    Err(AuthError::InvalidToken(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            token(&headers(&["Bearer aaaaaaaaaaa"]), "", 10),
            Err(AuthError::InvalidToken(_))
        ));
    }
}
