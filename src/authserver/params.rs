//! Form parameters of the OAuth endpoints (`application/x-www-form-urlencoded`, RFC 6749 §3.2 /
//! Appendix B): a parameter sent more than once is an `invalid_request` ("Request and response
//! parameters MUST NOT be included more than once"), except `resource`, which RFC 8707 §2 lets a
//! client repeat; empty values count as absent.

use super::error::OAuthError;
use std::collections::HashMap;

/// Decoded parameters.
#[derive(Debug, Default, Clone)]
pub struct Params {
    single: HashMap<String, String>,
    resources: Vec<String>,
}

impl Params {
    /// Parses a form body or a query string.
    pub fn parse(raw: &[u8]) -> Result<Self, OAuthError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(raw)
            .map_err(|e| OAuthError::InvalidRequest(format!("malformed form parameters: {e}")))?;
        let mut map = HashMap::with_capacity(pairs.len());
        let mut resources = Vec::new();
        for (k, v) in pairs {
            if v.is_empty() {
                continue;
            }
            if k == "resource" {
                resources.push(v);
                continue;
            }
            if map.insert(k.clone(), v).is_some() {
                return Err(OAuthError::InvalidRequest(format!(
                    "parameter {k} is repeated"
                )));
            }
        }
        Ok(Self {
            single: map,
            resources,
        })
    }

    /// A parameter (for `resource`, the first of its values).
    pub fn get(&self, key: &str) -> Option<&str> {
        if key == "resource" {
            return self.resources.first().map(String::as_str);
        }
        self.single.get(key).map(String::as_str)
    }

    /// Every `resource` value (RFC 8707 §2 allows several).
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// A parameter that must be present.
    pub fn require(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key)
            .ok_or_else(|| OAuthError::InvalidRequest(format!("missing parameter {key}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused() {
        let p = Params::parse(b"a=1&b=&c=x%20y").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert!(Params::parse(b"a=1&a=2").is_err());
        assert!(p.require("z").is_err());
        let r = Params::parse(b"resource=a&resource=b").unwrap();
        assert_eq!(r.resources(), ["a", "b"]);
        assert_eq!(r.get("resource"), Some("a"));
    }
}
