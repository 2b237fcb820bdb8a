//! The User service simulator: `GET /users/{userId}` → 200 `{id, email, name, status}` or 404.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::control::lock;
use crate::handle::Simulator;
use crate::http::{RecordedRequest, Reply, segment_after};
use crate::server::Service;

/// A user as the User service returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user id.
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Account status.
    pub status: UserStatus,
}

/// A user account's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    /// May order.
    Active,
    /// Exists but may not order.
    Suspended,
    /// Gone; kept for history.
    Deleted,
}

/// The User service's data: users by id.
#[derive(Debug)]
pub struct Users {
    records: Mutex<BTreeMap<String, User>>,
}

/// The User service simulator.
pub type UserSimulator = Simulator<Users>;

impl Users {
    /// The route labels this simulator counts calls under.
    pub const ROUTES: [&'static str; 1] = ["GET /users/{id}"];

    pub(crate) fn seeded() -> Self {
        Self {
            records: Mutex::new(seed()),
        }
    }
}

fn seed() -> BTreeMap<String, User> {
    crate::demo::users()
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect()
}

impl Service for Users {
    fn route(&self, method: &str, path: &str) -> Option<&'static str> {
        (method == "GET" && segment_after(path, "/users/").is_some()).then_some(Self::ROUTES[0])
    }

    fn handle(&self, request: &RecordedRequest) -> Reply {
        let Some(id) = segment_after(&request.path, "/users/").filter(|_| request.method == "GET")
        else {
            return Reply::no_route(request);
        };
        match lock(&self.records).get(&id) {
            Some(user) => Reply::json(200, user),
            None => Reply::problem(404, "Not Found", &format!("no user {id}")),
        }
    }
}

impl Simulator<Users> {
    /// Adds or replaces a user.
    pub fn upsert(&self, user: User) {
        lock(&self.service.records).insert(user.id.clone(), user);
    }

    /// Removes a user (the service then answers 404 for it); returns it if it existed.
    pub fn remove(&self, id: &str) -> Option<User> {
        lock(&self.service.records).remove(id)
    }

    /// A user by id.
    pub fn get(&self, id: &str) -> Option<User> {
        lock(&self.service.records).get(id).cloned()
    }

    /// Restores the seeded users ([`crate::demo`]).
    pub fn reset_data(&self) {
        *lock(&self.service.records) = seed();
    }
}
