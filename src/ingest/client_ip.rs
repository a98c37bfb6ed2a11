//! The visitor's IP: the socket peer, or the `X-Forwarded-For` entry a trusted proxy added.
//! Used for the visitor hash and GeoIP only; never stored.

use ipnet::IpNet;
use std::net::IpAddr;

/// Proxies whose `X-Forwarded-For` header is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address for a request from `peer`. Walks `X-Forwarded-For` from the right (the
    /// entry the nearest proxy appended) past every trusted hop; the first untrusted address is
    /// the client. Entries to its left are client-supplied and could be forged, so they are
    /// ignored.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let Some(header) = forwarded_for else {
            return peer;
        };
        let mut client = peer;
        for entry in header.rsplit(',') {
            let Some(ip) = parse_entry(entry) else {
                // A garbled hop: stop at the last address we could trust.
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a dual-stack socket reports) becomes plain IPv4 so
/// that hashes and CIDR checks see one address, not two.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    // "1.2.3.4:5678" and "[::1]:5678" forms.
    if let Ok(sock) = entry.parse::<std::net::SocketAddr>() {
        return Some(canonical(sock.ip()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(
            nets.iter()
                .map(|n| n.parse().unwrap_or_else(|e| panic!("{n}: {e}")))
                .collect(),
        )
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("10.0.0.1"), Some("203.0.113.9")),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_trusted_proxy_passes_on_the_rightmost_untrusted_address() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            p.client_ip(ip("10.0.0.1"), Some("1.1.1.1, 203.0.113.9, 10.0.0.7")),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_proxy_without_a_header_is_the_client() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(p.client_ip(ip("10.0.0.1"), None), ip("10.0.0.1"));
        assert_eq!(p.client_ip(ip("10.0.0.1"), Some("garbage")), ip("10.0.0.1"));
    }

    #[test]
    fn mapped_ipv6_peers_count_as_ipv4() {
        let p = proxies(&["127.0.0.1/32"]);
        assert_eq!(
            p.client_ip(ip("::ffff:127.0.0.1"), Some("198.51.100.2:4711")),
            ip("198.51.100.2")
        );
    }
}
