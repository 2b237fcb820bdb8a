//! `allowed_outbound_hosts` patterns, matched the way Spin matches them:
//! `scheme://host[:port]` where scheme may be `*`, host may be `*` or `*.suffix`, and port may
//! be `*`, a number or a range `a..b` (omitted → the scheme's default port).

use anyhow::{Context, Result, bail};

/// A parsed list of allowed outbound hosts for one component.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    patterns: Vec<HostPattern>,
}

#[derive(Debug, Clone, PartialEq)]
struct HostPattern {
    scheme: Option<String>,
    host: HostMatch,
    port: PortMatch,
}

#[derive(Debug, Clone, PartialEq)]
enum HostMatch {
    Any,
    Exact(String),
    Suffix(String),
}

#[derive(Debug, Clone, PartialEq)]
enum PortMatch {
    Any,
    Range(u16, u16),
    SchemeDefault,
}

impl AllowedHosts {
    /// Parses already-expanded patterns. Empty strings (an unset URL variable) are skipped.
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<Self> {
        let patterns = patterns
            .iter()
            .map(AsRef::as_ref)
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                HostPattern::parse(p)
                    .with_context(|| format!("invalid allowed_outbound_hosts entry `{p}`"))
            })
            .collect::<Result<_>>()?;
        Ok(Self { patterns })
    }

    /// Whether a request to `scheme://host:port` is allowed. `port` is `None` when the URL has
    /// none (the scheme's default applies).
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let port = port.or_else(|| default_port(scheme));
        self.patterns.iter().any(|p| p.matches(scheme, host, port))
    }

    /// Whether a URL string is allowed.
    pub fn allows_url(&self, url: &str) -> bool {
        match url::Url::parse(url) {
            Ok(u) => u
                .host_str()
                .is_some_and(|h| self.allows(u.scheme(), h, u.port())),
            Err(_) => false,
        }
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "redis" => Some(6379),
        "rediss" => Some(6380),
        _ => None,
    }
}

impl HostPattern {
    fn parse(text: &str) -> Result<Self> {
        let (scheme, rest) = text
            .split_once("://")
            .context("expected `scheme://host[:port]`")?;
        // A trailing slash or path is tolerated (URL variables are often written that way), but
        // paths do not narrow the match: Spin allow-lists hosts, not paths.
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            bail!("missing host");
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, Some(p)),
            _ => (authority, None),
        };
        let host = host.to_ascii_lowercase();
        let host = if host == "*" {
            HostMatch::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            HostMatch::Suffix(format!(".{suffix}"))
        } else if host.contains('*') {
            bail!("`*` is only allowed as the whole host or as a `*.` prefix");
        } else {
            HostMatch::Exact(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
            )
        };
        let port = match port {
            None => PortMatch::SchemeDefault,
            Some("*") => PortMatch::Any,
            Some(p) => match p.split_once("..") {
                Some((a, b)) => PortMatch::Range(a.parse()?, b.parse::<u16>()?.saturating_sub(1)),
                None => {
                    let n = p.parse().with_context(|| format!("invalid port `{p}`"))?;
                    PortMatch::Range(n, n)
                }
            },
        };
        if port == PortMatch::SchemeDefault && scheme != "*" && default_port(scheme).is_none() {
            bail!("scheme `{scheme}` has no default port: give one");
        }
        Ok(Self {
            scheme: (scheme != "*").then(|| scheme.to_ascii_lowercase()),
            host,
            port,
        })
    }

    fn matches(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        if self
            .scheme
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case(scheme))
        {
            return false;
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let host_ok = match &self.host {
            HostMatch::Any => true,
            HostMatch::Exact(h) => *h == host,
            HostMatch::Suffix(s) => host.ends_with(s.as_str()),
        };
        let port_ok = match (&self.port, port) {
            (PortMatch::Any, _) => true,
            (PortMatch::Range(a, b), Some(p)) => (*a..=*b).contains(&p),
            (PortMatch::SchemeDefault, Some(p)) => {
                self.scheme.as_deref().and_then(default_port) == Some(p)
            }
            (_, None) => false,
        };
        host_ok && port_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_host_and_port() {
        let a = AllowedHosts::parse(&["http://127.0.0.1:7701"]).unwrap();
        assert!(a.allows("http", "127.0.0.1", Some(7701)));
        assert!(!a.allows("http", "127.0.0.1", Some(7702)));
        assert!(!a.allows("https", "127.0.0.1", Some(7701)));
        assert!(!a.allows("http", "127.0.0.2", Some(7701)));
    }

    #[test]
    fn default_port_applies_when_omitted() {
        let a = AllowedHosts::parse(&["https://api.example.com"]).unwrap();
        assert!(a.allows("https", "api.example.com", None));
        assert!(a.allows("https", "API.example.com", Some(443)));
        assert!(!a.allows("https", "api.example.com", Some(8443)));
    }

    #[test]
    fn wildcards_and_ranges() {
        let a =
            AllowedHosts::parse(&["*://*.example.com:*", "redis://127.0.0.1:6000..6400"]).unwrap();
        assert!(a.allows("http", "a.example.com", Some(1)));
        assert!(!a.allows("http", "example.com", Some(1)));
        assert!(a.allows("redis", "127.0.0.1", Some(6379)));
        assert!(!a.allows("redis", "127.0.0.1", Some(6400)));
    }

    #[test]
    fn empty_entries_are_skipped_and_paths_tolerated() {
        let a = AllowedHosts::parse(&["", "http://localhost:8080/api/"]).unwrap();
        assert!(a.allows_url("http://localhost:8080/x"));
        assert!(!a.allows_url("http://localhost:9090/x"));
        assert!(!a.allows_url("not a url"));
    }

    #[test]
    fn rejects_malformed_patterns() {
        assert!(AllowedHosts::parse(&["127.0.0.1:80"]).is_err());
        assert!(AllowedHosts::parse(&["http://a*b.com"]).is_err());
        assert!(AllowedHosts::parse(&["ftp://host"]).is_err());
    }
}
