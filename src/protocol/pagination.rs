//! Opaque, self-contained pagination cursors (`server/utilities/pagination.mdx`).
//!
//! A cursor encodes the list it belongs to and the offset of the next page, base64url-encoded,
//! so any replica can continue a listing without shared state. Unknown or malformed cursors are
//! rejected with -32602, as the spec recommends.

use crate::protocol::jsonrpc::ErrorObject;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// Encodes the cursor for `list` starting at `offset`.
pub fn encode(list: &str, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{list}:{offset}"))
}

/// Decodes a cursor for `list`; `None` (no cursor) means offset 0.
pub fn decode(list: &str, cursor: Option<&Value>) -> Result<usize, ErrorObject> {
    let Some(cursor) = cursor else { return Ok(0) };
    let invalid = || ErrorObject::invalid_params("invalid cursor");
    let s = cursor.as_str().ok_or_else(invalid)?;
    let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    let (name, offset) = raw.split_once(':').ok_or_else(invalid)?;
    if name != list {
        return Err(invalid());
    }
    offset.parse().map_err(|_| invalid())
}

/// Cuts one page out of `items`; returns the page and the `nextCursor`, if any.
pub fn page<T: Clone>(
    list: &str,
    items: &[T],
    cursor: Option<&Value>,
    page_size: usize,
) -> Result<(Vec<T>, Option<String>), ErrorObject> {
    let offset = decode(list, cursor)?;
    if offset > items.len() {
        return Err(ErrorObject::invalid_params("invalid cursor"));
    }
    let end = offset.saturating_add(page_size.max(1)).min(items.len());
    let next = (end < items.len()).then(|| encode(list, end));
    Ok((items[offset..end].to_vec(), next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_through_and_rejects_foreign_cursors() {
        let items: Vec<u32> = (0..5).collect();
        let (p1, c1) = page("tools", &items, None, 2).unwrap();
        assert_eq!(p1, vec![0, 1]);
        let c1 = json!(c1.unwrap());
        let (p2, c2) = page("tools", &items, Some(&c1), 2).unwrap();
        assert_eq!(p2, vec![2, 3]);
        let (p3, c3) = page("tools", &items, Some(&json!(c2.unwrap())), 2).unwrap();
        assert_eq!((p3, c3), (vec![4], None));
        assert!(page("prompts", &items, Some(&c1), 2).is_err());
        assert!(page("tools", &items, Some(&json!("%%%")), 2).is_err());
        assert!(page("tools", &items, Some(&json!(encode("tools", 99))), 2).is_err());
    }
}
