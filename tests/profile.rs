//! The profile service: the contract of the authentication tests (`auth.rs`,
//! `auth_layers.rs`), a service that names its verified caller and records settings, the
//! demo users' actors and the access policy they share.

use std::sync::{Arc, Mutex};

use messaging_runtime::auth::AccessPolicy;
use messaging_runtime::prelude::*;
use messaging_runtime::Actor;

/// Asks who the server thinks is calling.
#[request("whoAmI", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhoAmI {}

/// Changes a setting; needs `settings:write`.
#[request("changeSetting", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeSetting {
    /// The new value.
    pub value: String,
}

/// Never used: the gate answers auth failures itself.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum ProfileError {
    /// Unused.
    #[error(status = 500, message = "unused")]
    Unused,
}

/// A profile service.
#[contract(name = "profile", version = "1.0.0", error = ProfileError)]
pub trait Profile {
    /// Who is calling, as the server verified it.
    #[permission("profile:read")]
    async fn who_am_i(&self, req: WhoAmI, cx: Context) -> Result<String, ProfileError>;
    /// Changes a setting.
    #[permission("settings:write")]
    async fn change_setting(&self, req: ChangeSetting, cx: Context)
        -> Result<String, ProfileError>;
}

/// The service: what settings it was asked to change.
#[derive(Debug, Default)]
pub struct Profiles {
    /// Every value `changeSetting` was given, in order.
    pub changed: Mutex<Vec<String>>,
}

impl Profile for Arc<Profiles> {
    async fn who_am_i(&self, _req: WhoAmI, cx: Context) -> Result<String, ProfileError> {
        let actor = cx.auth.as_ref().and_then(|a| a.actor.as_ref()).map(|a| a.id.clone());
        Ok(actor.unwrap_or_else(|| "nobody".into()))
    }

    async fn change_setting(
        &self,
        req: ChangeSetting,
        _cx: Context,
    ) -> Result<String, ProfileError> {
        self.changed.lock().expect("changed").push(req.value.clone());
        Ok(req.value)
    }
}

/// A user actor with one role.
pub fn actor(id: &str, role: &str) -> Actor {
    Actor { id: id.into(), kind: "user".into(), roles: vec![role.into()], permissions: vec![] }
}

/// Viewers read profiles; admins change settings and inherit the viewer role.
pub fn policy() -> AccessPolicy {
    AccessPolicy::builder()
        .grant("viewer", ["profile:read"])
        .grant("admin", ["settings:*"])
        .inherit("admin", ["viewer"])
        .build()
        .expect("a valid policy")
}
