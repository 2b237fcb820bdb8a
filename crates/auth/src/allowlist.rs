//! The optional client IP allowlist (`ip_allowlist` variable): CIDR blocks checked against the
//! address Spin reports in the `spin-client-addr` header. An empty list allows every client;
//! a non-empty list refuses any address it cannot parse (fail closed).
//!
//! The blocks are `ipnet` networks (RFC 4632 CIDR notation, RFC 4291 §2.3 for IPv6). Each
//! entry is split here rather than handed to `IpNet`'s parser, so that a bad entry gets a
//! message saying what is wrong with it and a bare address means a single host.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use crate::error::ConfigError;

/// A list of CIDR blocks, IPv4 and IPv6.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpAllowlist {
    blocks: Vec<IpNet>,
}

impl IpAllowlist {
    /// Parses entries separated by commas and/or whitespace: `10.0.0.0/8`, `::1/128`, or a
    /// bare address (a single host). An entry with host bits set below its prefix
    /// (`10.0.0.1/8`) is refused: it is almost always a typo for another prefix.
    ///
    /// ```
    /// let list = auth::IpAllowlist::parse("10.0.0.0/8, 192.168.1.7/32, ::1/128").unwrap();
    /// assert!(list.allows("10.20.30.40:51234"));
    /// assert!(list.allows("[::1]:8080"));
    /// assert!(!list.allows("192.168.1.8:80"));
    /// assert!(auth::IpAllowlist::parse("").unwrap().allows("203.0.113.9:1"));
    /// ```
    pub fn parse(list: &str) -> Result<Self, ConfigError> {
        let blocks = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty())
            .map(parse_block)
            .collect::<Result<_, _>>()?;
        Ok(Self { blocks })
    }

    /// Whether the list is empty (everyone allowed).
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Whether the client at `client_addr` may call: the `spin-client-addr` value
    /// (`ip:port`, `[v6]:port`) or a bare address. Unparsable input is refused unless the
    /// list is empty.
    pub fn allows(&self, client_addr: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        parse_client_addr(client_addr.trim()).is_some_and(|ip| self.allows_ip(ip))
    }

    /// Whether `ip` falls in any block. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are
    /// matched as the IPv4 address they carry.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.is_empty()
            || self
                .blocks
                .iter()
                .any(|block| block.contains(&ip.to_canonical()))
    }
}

fn parse_client_addr(text: &str) -> Option<IpAddr> {
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    // `[fe80::1%eth0]:80`: a zone index that is not numeric; the zone does not matter here.
    let (inner, port) = text.strip_prefix('[')?.split_once("]:")?;
    let (ip, _zone) = inner.split_once('%')?;
    let port_ok = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    port_ok
        .then(|| ip.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6))
        .flatten()
}

/// One allowlist entry: `address/prefix` or a bare address (the host's own block).
fn parse_block(entry: &str) -> Result<IpNet, ConfigError> {
    let invalid = |reason| ConfigError::Allowlist {
        entry: entry.to_string(),
        reason,
    };
    let (ip_text, prefix_text) = match entry.split_once('/') {
        Some((ip, prefix)) => (ip, Some(prefix)),
        None => (entry, None),
    };
    let network: IpAddr = ip_text.parse().map_err(|_| invalid("not an IP address"))?;
    let block = match prefix_text {
        None => IpNet::from(network),
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
            .parse::<u8>()
            .ok()
            .and_then(|prefix| IpNet::new(network, prefix).ok())
            .ok_or_else(|| invalid("prefix length is too long"))?,
        Some(_) => return Err(invalid("prefix length is not a number")),
    };
    if block.trunc() != block {
        return Err(invalid("address has bits set beyond the prefix length"));
    }
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> IpAllowlist {
        IpAllowlist::parse(text).unwrap()
    }

    #[test]
    fn empty_list_allows_everyone_even_unparsable() {
        assert!(list("").allows("203.0.113.9:443"));
        assert!(list(" , ").allows("garbage"));
    }

    #[test]
    fn ipv4_blocks_match_spin_client_addr() {
        let l = list("10.0.0.0/8,192.168.1.7/32");
        assert!(l.allows("10.0.0.0:1") && l.allows("10.255.255.255:65535"));
        assert!(!l.allows("11.0.0.0:1") && !l.allows("9.255.255.255:1"));
        assert!(l.allows("192.168.1.7:5000") && !l.allows("192.168.1.6:5000"));
        assert!(l.allows("10.1.2.3"), "bare address");
    }

    #[test]
    fn ipv6_blocks_and_mapped_ipv4() {
        let l = list("::1/128 2001:db8::/32\t10.0.0.0/8");
        assert!(l.allows("[::1]:8080") && !l.allows("[::2]:8080"));
        assert!(l.allows("[2001:db8:ffff::1]:1") && !l.allows("[2001:db9::1]:1"));
        assert!(
            l.allows("[::ffff:10.9.8.7]:1"),
            "IPv4-mapped matches the IPv4 block"
        );
        assert!(list("fe80::/10").allows("[fe80::1%eth0]:80"));
    }

    #[test]
    fn families_do_not_cross() {
        assert!(!list("0.0.0.0/0").allows("[::1]:1"));
        assert!(!list("::/0").allows("127.0.0.1:1"));
        assert!(list("0.0.0.0/0").allows("255.255.255.255:1"));
        assert!(list("::/0").allows("[ffff::]:1"));
    }

    #[test]
    fn unparsable_client_address_is_refused_by_a_non_empty_list() {
        let l = list("0.0.0.0/0, ::/0");
        for addr in [
            "",
            "localhost:80",
            "10.0.0.1:port",
            "[10.0.0.1]:80",
            "[10.0.0.1%x]:80",
            "[fe80::1%x]:8x",
            "1.2.3.4.5",
        ] {
            assert!(!l.allows(addr), "{addr}");
        }
    }

    #[test]
    fn invalid_entries_are_config_errors() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/8/8",
            "10.0.0/8",
            "host",
            "10.0.0.1/8",
            "2001:db8::1/32",
        ] {
            let err = IpAllowlist::parse(&format!("127.0.0.1, {bad}")).unwrap_err();
            assert!(err.to_string().contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn edge_prefixes() {
        assert!(
            list("10.0.0.0/31").allows("10.0.0.1:1") && !list("10.0.0.0/31").allows("10.0.0.2:1")
        );
        assert!(
            list("128.0.0.0/1").allows("200.0.0.1:1") && !list("128.0.0.0/1").allows("127.0.0.1:1")
        );
        assert!(list("::/127").allows("[::1]:1") && !list("::/127").allows("[::2]:1"));
    }
}
