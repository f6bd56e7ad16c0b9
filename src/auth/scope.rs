//! Which scopes an operation needs: the endpoint scope (`MCP_SCOPE`, every request) and the
//! optional per-tool scopes, from configuration (`auth.tool_scopes` / `MCP_TOOL_SCOPES`) and from
//! the tool's own declaration (`ToolSpec::scopes` in the library API), checked at `tools/call`.
//! A request lacking any of them is refused with 403 `insufficient_scope` listing *all* scopes
//! the operation needs (MCP 2025-11-25 "Scope Challenge Handling", and 2026-07-28: "include all
//! scopes required for the current operation in a single challenge"), so a client can step up
//! once.

use std::collections::BTreeMap;

/// The scope requirements of the endpoint and its tools.
#[derive(Debug, Clone, Default)]
pub struct ScopePolicy {
    endpoint: Vec<String>,
    tools: BTreeMap<String, Vec<String>>,
}

impl ScopePolicy {
    /// `endpoint` is required everywhere (empty = nothing); `tools` adds scopes per tool name.
    pub fn new(endpoint: &str, tools: &BTreeMap<String, Vec<String>>) -> Self {
        Self {
            endpoint: endpoint.split_whitespace().map(str::to_owned).collect(),
            tools: tools.clone(),
        }
    }

    /// The endpoint scopes, space-separated (for 401 challenges).
    pub fn endpoint_scope(&self) -> String {
        self.endpoint.join(" ")
    }

    /// `Err(all needed scopes)` when `granted` lacks an endpoint scope.
    pub fn check_endpoint(&self, granted: &[String]) -> Result<(), Vec<String>> {
        check(&self.endpoint, granted)
    }

    /// `Err(all needed scopes)` when `granted` lacks a scope of the endpoint, of `tool` in the
    /// configuration, or `declared` by the tool itself.
    pub fn check_tool(
        &self,
        tool: &str,
        declared: &[String],
        granted: &[String],
    ) -> Result<(), Vec<String>> {
        let mut needed = self.endpoint.clone();
        for s in self.tools.get(tool).into_iter().flatten().chain(declared) {
            if !needed.contains(s) {
                needed.push(s.clone());
            }
        }
        check(&needed, granted)
    }

    /// Whether any tool has its own scopes.
    pub fn has_tool_scopes(&self) -> bool {
        !self.tools.is_empty()
    }
}

fn check(needed: &[String], granted: &[String]) -> Result<(), Vec<String>> {
    if needed.iter().all(|s| granted.contains(s)) {
        Ok(())
    } else {
        Err(needed.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn endpoint_and_tool_scopes() {
        let mut tools = BTreeMap::new();
        tools.insert("count".to_owned(), v(&["mcp:count"]));
        let p = ScopePolicy::new("mcp:tools", &tools);
        assert!(p.check_endpoint(&v(&["mcp:tools"])).is_ok());
        assert_eq!(p.check_endpoint(&v(&["other"])), Err(v(&["mcp:tools"])));
        assert!(p.check_tool("add", &[], &v(&["mcp:tools"])).is_ok());
        assert_eq!(
            p.check_tool("count", &[], &v(&["mcp:tools"])),
            Err(v(&["mcp:tools", "mcp:count"]))
        );
        assert!(
            p.check_tool("count", &[], &v(&["mcp:count", "mcp:tools"]))
                .is_ok()
        );
        // Scopes the tool declares itself add to the configured ones.
        assert_eq!(
            p.check_tool(
                "count",
                &v(&["mcp:admin", "mcp:count"]),
                &v(&["mcp:tools", "mcp:count"])
            ),
            Err(v(&["mcp:tools", "mcp:count", "mcp:admin"]))
        );
        assert!(
            p.check_tool("add", &v(&["mcp:admin"]), &v(&["mcp:tools", "mcp:admin"]))
                .is_ok()
        );
        assert!(
            ScopePolicy::new("", &BTreeMap::new())
                .check_endpoint(&[])
                .is_ok()
        );
    }
}
