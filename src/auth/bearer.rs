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
    // One pass over the token's bytes (a JWT is about a kilobyte, on every request): the
    // `b64token` check implies ASCII, so the header is only checked as text when it fails.
    let not_ascii = || AuthError::InvalidToken("the Authorization header is not ASCII".into());
    let bytes = value.as_bytes();
    let (scheme, rest) = match bytes.iter().position(|&b| b == b' ') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[][..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        // Another scheme (Basic, DPoP...): no bearer credentials; challenge for one.
        value.to_str().map_err(|_| not_ascii())?;
        return Ok(None);
    }
    let token = trim_spaces(rest);
    if token.is_empty() {
        return Err(AuthError::InvalidToken("empty bearer token".into()));
    }
    if token.len() > max_len {
        return Err(AuthError::InvalidToken(format!(
            "bearer token longer than {max_len} bytes"
        )));
    }
    if !is_b64token(token) {
        value.to_str().map_err(|_| not_ascii())?;
        return Err(AuthError::InvalidToken("malformed bearer token".into()));
    }
    std::str::from_utf8(token)
        .map(Some)
        .map_err(|_| not_ascii())
}

/// `bytes` without leading and trailing spaces.
fn trim_spaces(mut bytes: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' '] = bytes {
        bytes = rest;
    }
    bytes
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(t: &[u8]) -> bool {
    let padding = t.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &t[..t.len() - padding];
    !body.is_empty() && body.iter().all(|&b| B64TOKEN_CHAR[usize::from(b)])
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
    if query.is_empty() {
        return false;
    }
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
        assert!(is_b64token(b"a-._~+/9=="));
        assert!(!is_b64token(b"a=b") && !is_b64token(b"=") && !is_b64token("é".as_bytes()));
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
        // Bytes that are not visible ASCII (obs-text) are refused whatever the scheme.
        for raw in [
            &b"Bearer abc\xff"[..],
            b"Basic \xe9t\xe9",
            b"Bearer \xc3\xa9",
        ] {
            let mut h = HeaderMap::new();
            h.insert(
                HeaderName::from_static("authorization"),
                HeaderValue::from_bytes(raw).unwrap(),
            );
            match token(&h, "", 100) {
                Err(AuthError::InvalidToken(reason)) => {
                    assert!(reason.contains("ASCII"), "{reason}")
                }
                other => panic!("{raw:?}: {other:?}"),
            }
        }
        // Spaces around the token, not tabs, are ignored.
        assert_eq!(
            token(&headers(&["Bearer   abc  "]), "", 100).unwrap(),
            Some("abc")
        );
        assert_eq!(token(&headers(&["Bearer\tabc"]), "", 100).unwrap(), None);
    }
}
