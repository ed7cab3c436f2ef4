//! Who the client of a request is, for rate limits, connection caps and logs: the socket
//! peer, or — only when that peer is a trusted reverse proxy (`GUICHET_TRUSTED_PROXIES`) —
//! the address the proxies name in `X-Forwarded-For`, read from the right. Clients are keyed
//! by their IPv4 address or by their IPv6 /64 network (one subscriber's usual allocation), so
//! a client cannot take a fresh bucket with each of its IPv6 addresses.

use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::app::AppState;

/// The key a client is counted under: its IPv4 address (`203.0.113.7`), its IPv6 /64 network
/// (`2001:db8:1:2::/64`), or `local` for a request that came through no socket (in-process
/// tests). Extract it in a handler (`client: ClientAddress`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddress(pub String);

impl ClientAddress {
    /// The key of this address (see [`ClientAddress`]).
    pub fn of(ip: IpAddr) -> Self {
        ClientAddress(match canonical(ip) {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        })
    }

    /// The client of a request that came from `peer` with these headers.
    pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> Self {
        Self::of(trusted.client_ip(peer, headers))
    }
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => {
                Self::resolve(peer.ip(), &parts.headers, &state.settings.trusted_proxies)
            }
            None => ClientAddress("local".into()),
        })
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as a dual-stack socket reports IPv4
/// peers) as the IPv4 address it is.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`), or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `address` or `address/prefix`; the message says what is wrong, in French.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("« {text} » n'est ni une adresse IP ni un réseau CIDR"))?;
        let address = canonical(address);
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("« {text} » : longueur de préfixe invalide"))?,
        };
        Ok(Network { address, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(u32::from(net)) << 96,
                u128::from(u32::from(ip)) << 96,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, prefix: u8) -> bool {
    prefix == 0 || (a ^ b) >> (128 - u32::from(prefix)) == 0
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed (`GUICHET_TRUSTED_PROXIES`; none by
/// default, so the header is ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR networks (an empty text: none).
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .filter(|item| !item.trim().is_empty())
            .map(Network::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }

    /// The client's address: the peer, unless the peer is trusted; then the hops of
    /// `X-Forwarded-For` from the right, trusted ones skipped, the first untrusted one being
    /// the client. When every hop is trusted, the leftmost; when a hop is not an address, the
    /// last trusted one seen (what is left of it cannot be believed).
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.contains(client) {
            return client;
        }
        // Several headers are one list, in order.
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = canonical(ip);
            if !self.contains(client) {
                return client;
            }
        }
        client
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.0.iter().map(Network::to_string).collect();
        f.write_str(&list.join(","))
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`), as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn two_ipv6_addresses_in_one_64_share_a_key_and_other_networks_do_not() {
        let a = ClientAddress::of(ip("2001:db8:1:2::1"));
        let b = ClientAddress::of(ip("2001:db8:1:2:ffff:eeee:dddd:cccc"));
        assert_eq!(a, b);
        assert_eq!(a.0, "2001:db8:1:2::/64");
        assert_ne!(a, ClientAddress::of(ip("2001:db8:1:3::1")));
    }

    #[test]
    fn ipv4_clients_are_keyed_by_their_address_even_when_mapped_in_ipv6() {
        assert_eq!(ClientAddress::of(ip("203.0.113.7")).0, "203.0.113.7");
        assert_eq!(ClientAddress::of(ip("::ffff:203.0.113.7")).0, "203.0.113.7");
        assert_ne!(
            ClientAddress::of(ip("203.0.113.7")),
            ClientAddress::of(ip("203.0.113.8"))
        );
    }

    #[test]
    fn networks_parse_addresses_and_cidr_and_refuse_the_rest() {
        let net = Network::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.200.3.4")));
        assert!(net.contains(ip("::ffff:10.1.1.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        let one = Network::parse("::1").unwrap();
        assert!(one.contains(ip("::1")));
        assert!(!one.contains(ip("::2")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(
            Network::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("2001:db8:ffff::1"))
        );
        for bad in [
            "",
            "localhost",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/x",
            "1.2.3",
        ] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            TrustedProxies::parse(" 127.0.0.1, 10.0.0.0/8 ,::1 ")
                .unwrap()
                .to_string(),
            "127.0.0.1/32,10.0.0.0/8,::1/128"
        );
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("127.0.0.1,nope").is_err());
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let none = TrustedProxies::default();
        let headers = forwarded(&["198.51.100.1"]);
        assert_eq!(none.client_ip(ip("127.0.0.1"), &headers), ip("127.0.0.1"));
        let some = TrustedProxies::parse("10.0.0.1").unwrap();
        assert_eq!(some.client_ip(ip("192.0.2.9"), &headers), ip("192.0.2.9"));
    }

    #[test]
    fn forwarded_for_is_read_from_the_right_skipping_trusted_hops() {
        let trusted = TrustedProxies::parse("127.0.0.1,10.0.0.0/8").unwrap();
        // The client put a forged entry on the left; the proxies appended the real hops.
        let headers = forwarded(&["1.1.1.1, 198.51.100.7", "10.1.2.3"]);
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), &headers),
            ip("198.51.100.7")
        );
        // Ports and IPv6 brackets as some proxies write them.
        let headers = forwarded(&["[2001:db8::5]:4711, 10.0.0.2:80"]);
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), &headers),
            ip("2001:db8::5")
        );
        // Every hop trusted: the leftmost. No header: the proxy itself.
        let headers = forwarded(&["10.0.0.9, 10.0.0.8"]);
        assert_eq!(trusted.client_ip(ip("127.0.0.1"), &headers), ip("10.0.0.9"));
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        // Garbage after trusted hops: the last trusted hop, not what is left of it.
        let headers = forwarded(&["198.51.100.7, unknown, 10.0.0.8"]);
        assert_eq!(trusted.client_ip(ip("127.0.0.1"), &headers), ip("10.0.0.8"));
    }
}
