//! Spin's HTTP route syntax and precedence: `/exact/path`, `/prefix/...` (wildcard tail),
//! `/orders/:id` (named segment). An exact route beats a wildcard; among matches the one with
//! more literal segments wins, then the longer pattern.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

/// A compiled route table mapping a path to a target `T` (a component index).
#[derive(Debug, Clone)]
pub struct Router<T> {
    routes: Vec<(Route, T)>,
}

/// One route pattern.
#[derive(Debug, Clone)]
pub struct Route {
    /// As written in the manifest (`spin-matched-route`).
    pub pattern: String,
    segments: Vec<Segment>,
    wildcard: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// A successful match.
#[derive(Debug)]
pub struct RouteMatch<'a, T> {
    /// The route that matched.
    pub route: &'a Route,
    /// Its target.
    pub target: &'a T,
    /// Named segments (`:id` → value).
    pub params: BTreeMap<String, String>,
    /// For wildcard routes, the path after the matched prefix (`spin-path-info`), e.g. `/a/b`.
    pub path_info: String,
}

impl Route {
    /// Parses a manifest route.
    pub fn parse(pattern: &str) -> Result<Self> {
        if !pattern.starts_with('/') {
            bail!("route `{pattern}` must start with `/`");
        }
        let (body, wildcard) = match pattern.strip_suffix("/...") {
            Some(prefix) => (prefix, true),
            None if pattern == "/..." => ("", true),
            None => (pattern, false),
        };
        let segments = body
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix(':') {
                Some("") => bail!("route `{pattern}` has an unnamed `:` segment"),
                Some(name) => Ok(Segment::Param(name.to_string())),
                None if s.contains("...") => {
                    bail!("route `{pattern}`: `...` is only allowed as the last segment")
                }
                None => Ok(Segment::Literal(s.to_string())),
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            pattern: pattern.to_string(),
            segments,
            wildcard,
        })
    }

    /// The route without its wildcard tail (`spin-component-route`).
    pub fn component_route(&self) -> &str {
        self.pattern.strip_suffix("/...").unwrap_or(&self.pattern)
    }

    fn matches(&self, path_segments: &[&str]) -> Option<(BTreeMap<String, String>, String)> {
        if path_segments.len() < self.segments.len()
            || (!self.wildcard && path_segments.len() != self.segments.len())
        {
            return None;
        }
        let mut params = BTreeMap::new();
        for (seg, actual) in self.segments.iter().zip(path_segments) {
            match seg {
                Segment::Literal(l) if l == actual => {}
                Segment::Literal(_) => return None,
                Segment::Param(name) => {
                    params.insert(name.clone(), (*actual).to_string());
                }
            }
        }
        let rest = &path_segments[self.segments.len()..];
        let path_info = if rest.is_empty() {
            String::new()
        } else {
            format!("/{}", rest.join("/"))
        };
        Some((params, path_info))
    }

    fn rank(&self) -> (bool, usize, usize) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        (!self.wildcard, literals, self.segments.len())
    }
}

impl<T> Router<T> {
    /// Builds a router; duplicate patterns are an error.
    pub fn new(routes: Vec<(Route, T)>) -> Result<Self> {
        for (i, (a, _)) in routes.iter().enumerate() {
            if routes[..i].iter().any(|(b, _)| b.pattern == a.pattern) {
                bail!("route `{}` is defined twice", a.pattern);
            }
        }
        Ok(Self { routes })
    }

    /// The best route for `path` (no query string).
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_, T>> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.routes
            .iter()
            .filter_map(|(route, target)| route.matches(&segments).map(|m| (route, target, m)))
            .max_by_key(|(route, _, _)| route.rank())
            .map(|(route, target, (params, path_info))| RouteMatch {
                route,
                target,
                params,
                path_info,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(patterns: &[&str]) -> Router<usize> {
        Router::new(
            patterns
                .iter()
                .enumerate()
                .map(|(i, p)| (Route::parse(p).unwrap(), i))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn exact_beats_wildcard_and_longer_prefix_wins() {
        let r = router(&["/...", "/api/...", "/api/health"]);
        assert_eq!(*r.route("/api/health").unwrap().target, 2);
        assert_eq!(*r.route("/api/orders/1").unwrap().target, 1);
        assert_eq!(r.route("/api/orders/1").unwrap().path_info, "/orders/1");
        assert_eq!(*r.route("/other").unwrap().target, 0);
        assert_eq!(r.route("/").unwrap().path_info, "");
    }

    #[test]
    fn named_segments_are_captured() {
        let r = router(&["/orders/:id", "/orders/stats"]);
        let m = r.route("/orders/42").unwrap();
        assert_eq!(m.params["id"], "42");
        assert_eq!(*r.route("/orders/stats").unwrap().target, 1);
        assert!(r.route("/orders/42/lines").is_none());
    }

    #[test]
    fn bad_routes_are_rejected() {
        assert!(Route::parse("orders").is_err());
        assert!(Route::parse("/a/:/b").is_err());
        assert!(
            Router::new(vec![
                (Route::parse("/a").unwrap(), 0),
                (Route::parse("/a").unwrap(), 1)
            ])
            .is_err()
        );
    }
}
