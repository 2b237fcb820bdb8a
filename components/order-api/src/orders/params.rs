//! The query parameters of the order lists, as typed structs read from a [`Query`]:
//! `status`, `limit`, `cursor` (and, for the admin list, `userId`, `from`, `to`). A bad value
//! is a 400 `invalid-parameter` naming the parameter; the first of a repeated one counts.

use crate::problem::ApiError;
use crate::query::Query;
use crate::store::{Cursor, ListFilter};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::OrderStatus;

/// Orders a page holds when `limit` is not given.
const DEFAULT_LIMIT: u32 = 20;
/// The largest `limit`.
const MAX_LIMIT: u32 = 100;

/// One page of a list: `limit` (1..=100, default 20) and the `cursor` it starts after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Page {
    /// Orders at most.
    pub(super) limit: u32,
    /// Where the previous page ended (`nextCursor`), or `None` for the first page.
    pub(super) cursor: Option<Cursor>,
}

impl Page {
    /// `limit` and `cursor` of `query`.
    pub(super) fn from_query(query: &Query) -> Result<Self, ApiError> {
        let limit = match query.first("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid_parameter(
                        "limit",
                        "limit must be a whole number from 1 to 100",
                    )
                })?,
        };
        let cursor = query.first("cursor").map(decode_cursor).transpose()?;
        Ok(Self { limit, cursor })
    }
}

/// `GET /api/v1/users/{userId}/orders?status=&limit=&cursor=`.
pub(super) struct UserOrdersQuery {
    /// Only orders in this status.
    pub(super) status: Option<OrderStatus>,
    /// The page.
    pub(super) page: Page,
}

impl UserOrdersQuery {
    /// Reads `query` (status first, then the page).
    pub(super) fn from_query(query: &Query) -> Result<Self, ApiError> {
        Ok(Self {
            status: status(query)?,
            page: Page::from_query(query)?,
        })
    }
}

/// `GET /api/v1/admin/orders?status=&userId=&from=&to=&limit=&cursor=`.
pub(super) struct AdminOrdersQuery {
    /// Which orders.
    pub(super) filter: ListFilter,
    /// The page.
    pub(super) page: Page,
}

impl AdminOrdersQuery {
    /// Reads `query` (status, from, to, then the page); `from` and `to` are epoch
    /// milliseconds or RFC 3339.
    pub(super) fn from_query(query: &Query) -> Result<Self, ApiError> {
        let filter = ListFilter {
            user_id: query.first("userId").map(str::to_owned),
            status: status(query)?,
            from: query
                .first("from")
                .map(|t| instant("from", t))
                .transpose()?,
            to: query.first("to").map(|t| instant("to", t)).transpose()?,
        };
        Ok(Self {
            filter,
            page: Page::from_query(query)?,
        })
    }
}

/// `?status=`, checked against the state machine's names.
fn status(query: &Query) -> Result<Option<OrderStatus>, ApiError> {
    match query.first("status") {
        None => Ok(None),
        Some(name) => OrderStatus::parse(name).map(Some).ok_or_else(|| {
            let names: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::invalid_parameter(
                "status",
                format!("status must be one of {}", names.join(", ")),
            )
        }),
    }
}

/// The opaque cursor: base64url (no padding) of `"{created_at}:{id}"`.
pub(super) fn encode_cursor(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", cursor.created_at, cursor.id))
}

/// Parses `?cursor=`, as returned in `nextCursor`.
fn decode_cursor(text: &str) -> Result<Cursor, ApiError> {
    let bad = || {
        ApiError::invalid_parameter(
            "cursor",
            "cursor must be a nextCursor value from a previous page",
        )
    };
    let decoded = URL_SAFE_NO_PAD.decode(text.as_bytes()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (created_at, id) = decoded.split_once(':').ok_or_else(bad)?;
    Ok(Cursor {
        created_at: created_at.parse().map_err(|_| bad())?,
        id: id.to_owned(),
    })
}

/// An instant given as epoch milliseconds or RFC 3339 (`2026-11-25T10:00:00Z`, offsets allowed).
fn instant(name: &str, text: &str) -> Result<i64, ApiError> {
    if let Ok(millis) = text.parse::<i64>() {
        return Ok(millis);
    }
    domain::Timestamp::parse_rfc3339(text)
        .map(domain::Timestamp::millis)
        .ok_or_else(|| {
            ApiError::invalid_parameter(
                name,
                format!("{name} must be RFC 3339 (2026-11-25T10:00:00Z) or epoch milliseconds"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(raw: &str) -> Result<Page, ApiError> {
        Page::from_query(&Query::parse(raw))
    }

    fn refused_parameter(result: Result<impl Sized, ApiError>) -> String {
        match result {
            Err(ApiError::InvalidParameter { name, .. }) => name,
            Err(other) => panic!("expected invalid-parameter, got {other:?}"),
            Ok(_) => panic!("expected invalid-parameter, got a value"),
        }
    }

    #[test]
    fn a_page_defaults_to_20_and_refuses_limits_outside_1_to_100() {
        assert_eq!(page("").unwrap().limit, 20);
        assert_eq!(page("limit=100").unwrap().limit, 100);
        for bad in ["limit=0", "limit=101", "limit=x", "limit="] {
            assert_eq!(refused_parameter(page(bad)), "limit", "{bad}");
        }
    }

    #[test]
    fn a_cursor_round_trips_and_a_forged_one_is_refused() {
        let cursor = Cursor {
            created_at: 1_764_000_000_000,
            id: "ord_1".into(),
        };
        let raw = format!("cursor={}", encode_cursor(&cursor));
        assert_eq!(page(&raw).unwrap().cursor, Some(cursor));
        assert_eq!(refused_parameter(page("cursor=bm9wZQ")), "cursor");
    }

    #[test]
    fn admin_filters_are_read_in_order_and_instants_take_offsets() {
        let query = Query::parse("status=shipped&userId=usr_1&from=2026-11-25T10:00:00+01:00&to=0");
        let admin = AdminOrdersQuery::from_query(&query).unwrap();
        assert_eq!(admin.filter.status, Some(OrderStatus::Shipped));
        assert_eq!(admin.filter.user_id.as_deref(), Some("usr_1"));
        assert_eq!(admin.filter.from, Some(1_795_597_200_000));
        assert_eq!(admin.filter.to, Some(0));
        let both_bad = Query::parse("from=yesterday&status=lost");
        assert_eq!(
            refused_parameter(AdminOrdersQuery::from_query(&both_bad)),
            "status"
        );
        assert_eq!(
            refused_parameter(UserOrdersQuery::from_query(&Query::parse("limit=0"))),
            "limit"
        );
    }
}
