//! The one query-string parser: `form_urlencoded` (the WHATWG `application/x-www-form-urlencoded`
//! parser of the `url` crate) splits `name=value` pairs and percent-decodes both; each endpoint
//! reads its parameters from a [`Query`] into a typed struct and refuses a bad one with
//! [`crate::problem::ApiError::InvalidParameter`] naming it.
//!
//! One deviation from form encoding: `+` is a literal plus, not a space. Query strings are
//! RFC 3986 text, where `+` is an ordinary character, and the parameters here need it literal:
//! `+` starts a UTC offset in an RFC 3339 instant (`from=2026-11-25T10:00:00+01:00`), and no
//! parameter (ids, status names, cursors, numbers) may contain a space. A space is `%20`.
//! Malformed escapes stay as written and invalid UTF-8 becomes U+FFFD, so such a value is
//! refused by its parameter's own rule.

use spin_sdk::http::Request;

/// A request's query parameters, decoded, in the order given.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// The query of `request` (none is an empty query).
    pub(crate) fn of(request: &Request) -> Self {
        Self::parse(request.uri().query().unwrap_or_default())
    }

    /// Parses a raw query string (without `?`); a pair without `=` has an empty value.
    pub(crate) fn parse(raw: &str) -> Self {
        let raw = raw.replace('+', "%2B");
        Self {
            pairs: form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
        }
    }

    /// The first value of parameter `name`.
    pub(crate) fn first(&self, name: &str) -> Option<&str> {
        self.values(name).next()
    }

    /// Every value of parameter `name`, in order.
    pub(crate) fn values<'q>(&'q self, name: &str) -> impl Iterator<Item = &'q str> {
        self.pairs
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Query;

    #[test]
    fn values_are_percent_decoded_and_plus_stays_a_plus() {
        let query = Query::parse(
            "from=2026-11-02T11:00:00%2B01:00&to=2026-11-04T10:00:00+01:00&userId=usr%5Falice",
        );
        assert_eq!(query.first("from"), Some("2026-11-02T11:00:00+01:00"));
        assert_eq!(query.first("to"), Some("2026-11-04T10:00:00+01:00"));
        assert_eq!(query.first("userId"), Some("usr_alice"));
        assert_eq!(Query::parse("q=a%20b").first("q"), Some("a b"));
    }

    #[test]
    fn repeated_names_keep_their_order_and_bare_names_are_empty() {
        let query = Query::parse("status=a&&limit&status=b");
        assert_eq!(query.values("status").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(query.first("status"), Some("a"));
        assert_eq!(query.first("limit"), Some(""));
        assert_eq!(query.first("cursor"), None);
    }

    #[test]
    fn malformed_escapes_stay_as_written() {
        assert_eq!(Query::parse("from=%ZZ&to=%4").first("from"), Some("%ZZ"));
        assert_eq!(Query::parse("to=%4").first("to"), Some("%4"));
    }
}
