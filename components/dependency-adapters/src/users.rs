//! User service: `GET /users/{userId}` → `{id, email, name, status}`; 404 unknown.

use crate::bindings::exports::shop::order::users::{User, UserLookup, UserStatus};
use crate::bindings::shop::order::types::{DataSource, DependencyError, TraceContext};
use crate::outbound::{Call, Service, segment};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserWire {
    id: String,
    email: String,
    name: String,
    status: UserStatusWire,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum UserStatusWire {
    Active,
    Suspended,
    Deleted,
}

/// Looks up one user with a live call.
pub(crate) async fn get_user(
    user_id: &str,
    trace: Option<&TraceContext>,
) -> Result<UserLookup, DependencyError> {
    let path = format!("/users/{}", segment(user_id));
    let answer = Call::get(Service::User, path, trace).send().await?;
    if answer.status != 200 {
        return Err(answer.unexpected());
    }
    let wire: UserWire = answer.json()?;
    Ok(UserLookup {
        user: User {
            id: wire.id,
            email: wire.email,
            name: wire.name,
            status: match wire.status {
                UserStatusWire::Active => UserStatus::Active,
                UserStatusWire::Suspended => UserStatus::Suspended,
                UserStatusWire::Deleted => UserStatus::Deleted,
            },
        },
        source: DataSource::Live,
    })
}
