//! The user service contract of the guide's custom middleware example.
//!
//! The guide's schemas are the types' validation rules, declared with `validator`'s
//! attributes and enforced by the runtime (the server before the handler, the client before
//! sending): `username` 3 to 50 characters, `email` a valid address, `password` at least 8
//! characters; a `userCreated` event carries a valid address. A request that breaks any of
//! them is answered `VALIDATION_ERROR` (400) listing every failing field.

use core::fmt;

use messaging_runtime::prelude::*;

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user id.
    pub id: String,
    /// The unique user name.
    pub username: String,
    /// The e-mail address.
    pub email: String,
    /// Milliseconds since the Unix epoch when the account was created.
    pub created_at: u64,
}

/// Creates an account.
#[request("createUser", response = User)]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase")]
pub struct CreateUser {
    /// The wanted user name: 3 to 50 characters.
    #[validate(length(min = 3, max = 50))]
    pub username: String,
    /// The e-mail address: a valid one.
    #[validate(email)]
    pub email: String,
    /// The password: at least 8 characters (never printed by `Debug`, never echoed in a
    /// validation error).
    #[validate(length(min = 8))]
    pub password: String,
}

impl fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateUser")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Looks a user up by id.
#[request("getUserById", response = User)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetUserById {
    /// The user.
    pub id: String,
}

/// An account was created.
#[event("userCreated")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase")]
pub struct UserCreated {
    /// The new user's id.
    pub id: String,
    /// The user name.
    pub username: String,
    /// The e-mail address: a valid one.
    #[validate(email)]
    pub email: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
}

/// What the user service can fail with.
#[error_code]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserError {
    /// No user has this id.
    #[error(status = 404, message = "User with ID {id} not found")]
    UserNotFound {
        /// The id asked for.
        id: String,
    },
    /// Another account has this user name.
    #[error(status = 409, message = "Username {username} is already taken")]
    UsernameTaken {
        /// The name asked for.
        username: String,
    },
}

/// The user service: create and look up accounts.
#[contract(name = "user-service", version = "1.0.0", error = UserError, events(UserCreated))]
pub trait UserService {
    /// Creates an account; publishes `userCreated`.
    #[permission("users:write")]
    async fn create_user(&self, req: CreateUser, cx: Context) -> Result<User, UserError>;

    /// Looks a user up by id.
    #[permission("users:read")]
    async fn get_user_by_id(&self, req: GetUserById, cx: Context) -> Result<User, UserError>;
}
