//! The user service behind the pipeline, implementing [`UserService`]: accounts in memory,
//! `userCreated` published for each new one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::clock::now_millis;
use contracts::user::{
    CreateUser, GetUserById, User, UserCreated, UserError, UserService, UserServiceEvents,
};
use messaging_runtime::Context;

/// The user service: accounts in memory. It never sees a request the pipeline turned
/// away, so it neither checks tokens nor validates fields itself.
#[derive(Debug)]
pub struct Users {
    users: Mutex<HashMap<String, User>>,
    next_id: AtomicU64,
    events: UserServiceEvents,
}

impl Users {
    /// A user service that publishes through `events` (built from the server's
    /// `broadcaster()` before it starts).
    pub fn new(events: UserServiceEvents) -> Self {
        Self { users: Mutex::default(), next_id: AtomicU64::new(1), events }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, User>> {
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl UserService for Users {
    async fn create_user(&self, req: CreateUser, _cx: Context) -> Result<User, UserError> {
        let user = {
            let mut users = self.lock();
            if users.values().any(|u| u.username == req.username) {
                return Err(UserError::username_taken(req.username));
            }
            let id = format!("user-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
            // The password is not kept: credentials live with the authentication provider.
            let user = User {
                id: id.clone(),
                username: req.username,
                email: req.email,
                created_at: now_millis(),
            };
            users.insert(id, user.clone());
            user
        };
        self.events.user_created(UserCreated {
            id: user.id.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            created_at: user.created_at,
        });
        Ok(user)
    }

    async fn get_user_by_id(&self, req: GetUserById, _cx: Context) -> Result<User, UserError> {
        self.lock().get(&req.id).cloned().ok_or_else(|| UserError::user_not_found(req.id))
    }
}
