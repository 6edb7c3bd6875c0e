//! Who a script runs as, by name.

use serde::{Deserialize, Serialize};

/// A user (and optionally a group) to run a script as: keepalived's `script_user`, a
/// `vrrp_script`'s `user`, or the names after a notify command.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScriptUser {
    /// The user name.
    pub user: String,
    /// The group name (default: the user's group).
    pub group: Option<String>,
}
