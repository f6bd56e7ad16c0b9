//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25
//! authorization, "Client ID Metadata Documents"): a client without a registration uses an https
//! URL as its `client_id`, and the server fetches the client's metadata from that URL.
//!
//! Fetching a URL a stranger chose is a server-side request forgery risk, so the fetch is held
//! to: https only (http too with `authserver.cimd_allow_private`, for local tests); a canonical
//! URL with a path, without user information, fragment or dot segments (draft §3); a host whose
//! every address is public (no loopback, private, link-local, unique-local, CGNAT, multicast,
//! unspecified or reserved address, IPv4-mapped and NAT64 forms included) unless
//! `cimd_allow_private`; no redirects; `cimd_timeout_ms` for the whole fetch;
//! [`MAX_DOCUMENT_BYTES`]. The document must be a JSON object whose `client_id` equals the URL
//! exactly, and describe a public client (`token_endpoint_auth_method` `none`, no secret, draft
//! §4.1); its metadata is checked like a registration's. Results are cached for
//! `cimd_cache_secs` (concurrent lookups of one URL share a single fetch); failures are not
//! cached.

use super::AsState;
use super::clients::{Origin, record, validate_metadata};
use super::state::ClientRecord;
use crate::auth::fetch::{ReadError, read_limited, with_sources as chain};
use serde_json::{Map, Value};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Largest client metadata document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Whether `client_id` names a metadata document: an https URL (http too when
/// `allow_private`, for local tests).
pub fn is_document_url(client_id: &str, allow_private: bool) -> bool {
    client_id.starts_with("https://") || (allow_private && client_id.starts_with("http://"))
}

/// The client a metadata document describes, from the cache or fetched; `None` (logged at warn
/// with the reason) when it cannot be fetched or is invalid.
pub async fn lookup(st: &AsState, url: &str) -> Option<ClientRecord> {
    let result = st
        .cimd_cache
        .try_get_with(url.to_owned(), async { fetch(st, url).await.map(Arc::new) })
        .await;
    match result {
        Ok(client) => Some(client.as_ref().clone()),
        Err(reason) => {
            tracing::warn!(client_id = url, reason = %reason, "client metadata document refused");
            None
        }
    }
}

async fn fetch(st: &AsState, url: &str) -> Result<ClientRecord, String> {
    let allow_private = st.settings.cimd_allow_private;
    let parsed = check_url(url, allow_private)?;
    let limit = Duration::from_millis(st.settings.cimd_timeout_ms);
    let work = async {
        // Time-of-check/time-of-use: the HTTP client resolves the name again when it connects,
        // and a hostile DNS server could answer differently then (DNS rebinding). Acceptable for
        // the demo server; `client()` closes the gap with a resolver that never returns
        // non-public addresses, when `AsState::http` is built with it.
        check_host(&parsed, allow_private).await?;
        let response = st
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("fetch failed: {}", chain(&e)))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(format!("answered HTTP {}", response.status().as_u16()));
        }
        let body = read_limited(response, MAX_DOCUMENT_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge => {
                    format!("the document is larger than {MAX_DOCUMENT_BYTES} bytes")
                }
                ReadError::Transport(e) => format!("reading the document: {}", chain(&e)),
            })?;
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(doc)) => {
                record_from_document(&doc, url, &st.settings.scopes_supported)
            }
            Ok(_) => Err("the document is not a JSON object".to_owned()),
            Err(e) => Err(format!("the document is not JSON: {e}")),
        }
    };
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| format!("timed out after {} ms", limit.as_millis()))?
}

/// The client of a fetched document: `client_id` must equal the URL it came from (draft §4.1).
pub fn record_from_document(
    doc: &Map<String, Value>,
    url: &str,
    scopes_supported: &[String],
) -> Result<ClientRecord, String> {
    if doc.get("client_id").and_then(Value::as_str) != Some(url) {
        return Err("the document's client_id does not equal its URL".to_owned());
    }
    let m =
        validate_metadata(doc, scopes_supported, Origin::Document).map_err(|e| e.to_string())?;
    Ok(record(url.to_owned(), None, m, false))
}

/// Checks a client identifier URL (draft §3): https (or http with `allow_private`), canonical
/// (so no dot segments and a lowercase host), with a host and a path, no user information or
/// fragment.
pub fn check_url(url: &str, allow_private: bool) -> Result<reqwest::Url, String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    match u.scheme() {
        "https" => {}
        "http" if allow_private => {}
        s => return Err(format!("scheme {s} is not allowed; use https")),
    }
    if u.as_str() != url {
        return Err(format!("not in canonical form (that is {})", u.as_str()));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("no host".to_owned());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("user information is not allowed".to_owned());
    }
    if u.fragment().is_some() {
        return Err("a fragment is not allowed".to_owned());
    }
    if u.path() == "/" || u.path().is_empty() {
        return Err("the URL needs a path".to_owned());
    }
    Ok(u)
}

/// Resolves the URL's host and refuses it unless every address is public (or `allow_private`).
async fn check_host(u: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let host = u.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<IpAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((bare, u.port_or_known_default().unwrap_or(443)))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .map(|a| a.ip())
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    match addrs.iter().find(|ip| !is_public_ip(**ip)) {
        Some(ip) => Err(format!("{host} resolves to the non-public address {ip}")),
        None => Ok(()),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(o[0] == 0 // 0.0.0.0/8, "this network"
        || ip.is_loopback()
        || ip.is_private() // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local() // 169.254/16
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64/10, CGNAT
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0/24, IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18/15, benchmarking
        || o[0] >= 240) // 240/4, reserved
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4); // ::ffff:a.b.c.d
    }
    let s = ip.segments();
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        return is_public_v4(embedded_v4(s[6], s[7])); // 64:ff9b::/96, NAT64
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2])); // 2002::/16, 6to4
    }
    !(s[0..6] == [0; 6] // ::/96: unspecified, loopback, IPv4-compatible
        || ip.is_multicast() // ff00::/8
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7, unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10, link-local
        || (s[0] & 0xffc0) == 0xfec0 // fec0::/10, former site-local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // 2001:db8::/32, documentation
        || (s[0] == 0x2001 && s[1] == 0) // 2001::/32, Teredo
        || (s[0] == 0x100 && s[1..4] == [0; 3])) // 100::/64, discard
}

/// Whether `ip` is a public unicast address a metadata document may be fetched from.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// A resolver that returns only public addresses (closes the DNS-rebinding gap of
/// [`check_host`]: the connection can only go where the check allowed).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP client for metadata documents: `timeout` per fetch, no redirects, no proxy, and
/// (unless `allow_private`) a resolver that connects to public addresses only.
pub fn client(timeout: Duration, allow_private: bool) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("mcp-hive/", env!("CARGO_PKG_VERSION")));
    if allow_private {
        builder.build()
    } else {
        builder.dns_resolver(PublicOnly).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn address_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
            "2001:db8::1",
        ] {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn client_id_urls() {
        assert!(check_url("https://app.example.com/oauth/client.json", false).is_ok());
        assert!(check_url("https://app.example.com/c?v=1", false).is_ok());
        for bad in [
            "http://app.example.com/c.json",
            "https://app.example.com",
            "https://app.example.com/",
            "https://app.example.com/a/../c.json",
            "https://app.example.com/./c.json",
            "https://App.Example.com/c.json",
            "https://u:p@app.example.com/c.json",
            "https://app.example.com/c.json#x",
            "not a url",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://127.0.0.1:8080/c.json", true).is_ok());
        assert!(is_document_url("https://a/b", false));
        assert!(!is_document_url("http://a/b", false));
        assert!(is_document_url("http://a/b", true));
        assert!(!is_document_url("abc123", true));
    }

    #[test]
    fn documents() {
        let url = "https://app.example.com/client.json";
        let scopes = vec!["mcp:tools".to_owned()];
        let doc = |v: Value| v.as_object().cloned().unwrap();
        let rec = record_from_document(
            &doc(json!({"client_id": url, "client_name": "App",
                "redirect_uris": ["http://127.0.0.1:3334/cb"],
                "grant_types": ["authorization_code", "refresh_token"]})),
            url,
            &scopes,
        )
        .unwrap();
        assert_eq!(rec.client_id, url);
        assert_eq!(rec.secret_hash, None);
        assert_eq!(rec.token_endpoint_auth_method, "none");
        for bad in [
            json!({"client_id": "https://other.example/client.json", "redirect_uris": ["https://a.example/cb"]}),
            json!({"redirect_uris": ["https://a.example/cb"]}),
            json!({"client_id": url, "redirect_uris": ["http://evil.example/cb"]}),
            json!({"client_id": url, "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            json!({"client_id": url, "grant_types": ["client_credentials"]}),
        ] {
            assert!(
                record_from_document(&doc(bad.clone()), url, &scopes).is_err(),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn hosts_with_private_addresses_are_refused() {
        let u = check_url("https://127.0.0.1/c.json", false).unwrap();
        assert!(check_host(&u, false).await.is_err());
        assert!(check_host(&u, true).await.is_ok());
        let u = check_url("https://localhost/c.json", false).unwrap();
        assert!(check_host(&u, false).await.is_err());
        let u = check_url("https://[::1]/c.json", false).unwrap();
        assert!(check_host(&u, false).await.is_err());
    }
}
