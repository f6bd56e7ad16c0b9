//! Task status notifications (tasks extension, ext-tasks `tasks.md` §Task Status Notifications)
//! on `subscriptions/listen` (MCP 2026-07-28 `basic/patterns/subscriptions.mdx`): the task ids a
//! subscription asks for in `notifications.taskIds`, and the `notifications/tasks` message that
//! carries a task's complete `DetailedTask`. Which ids are granted (the caller's own, live
//! tasks) and when messages are sent is the transport's business.

use super::state::Task;
use super::{MAX_TASK_ID_LEN, TaskError};
use crate::protocol::jsonrpc::RequestId;
use crate::protocol::stateless::listen::META_SUBSCRIPTION_ID;
use serde_json::{Value, json};

/// The notification method.
pub const NOTIFICATION: &str = "notifications/tasks";
/// Most task ids one subscription may watch.
pub const MAX_TASK_IDS: usize = 64;

/// `params.notifications.taskIds`, if the subscription asks for task notifications.
pub fn requested_task_ids(params: &Value) -> Result<Option<Vec<String>>, TaskError> {
    let Some(ids) = crate::protocol::jsonrpc::member(params, &["notifications", "taskIds"]) else {
        return Ok(None);
    };
    let invalid = || {
        TaskError::InvalidParams(format!(
            "notifications.taskIds must be an array of at most {MAX_TASK_IDS} task ids"
        ))
    };
    let ids = match ids {
        Value::Null => return Ok(None),
        Value::Array(ids) if ids.len() <= MAX_TASK_IDS => ids,
        _ => return Err(invalid()),
    };
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        match id.as_str() {
            Some(s) if !s.is_empty() && s.len() <= MAX_TASK_ID_LEN => {
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_owned());
                }
            }
            _ => return Err(invalid()),
        }
    }
    Ok(Some(out))
}

/// `notifications/tasks` for one subscription: the task as `tasks/get` would return it.
pub fn notification(task: &Task, subscription: &RequestId) -> Value {
    let mut params = task.detailed();
    params["_meta"] = json!({ META_SUBSCRIPTION_ID: subscription });
    json!({"jsonrpc": "2.0", "method": NOTIFICATION, "params": params})
}
