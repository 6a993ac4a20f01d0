//! Which address a request comes from, for the failure budgets and the audit log.
//!
//! The TCP peer, unless the peer is one of the operator's `--trusted-proxy` addresses: then
//! the proxy said who its client was in `X-Forwarded-For`, and the client is the rightmost
//! address in that list that is not itself a trusted proxy (everything left of it was written
//! by the client, who can write anything). A header from any other peer is ignored, so a
//! client cannot pick the address its failures are counted against.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

const FORWARDED_FOR: &str = "x-forwarded-for";

/// The address `peer`'s request stands for; see the module documentation.
pub fn client_address(trusted_proxies: &[IpAddr], peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    let peer = peer.ip();
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    // Every X-Forwarded-For header, in order, is one list (RFC 7230 §3.2.2).
    let listed: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    for entry in listed.iter().rev() {
        match entry.trim().parse::<IpAddr>() {
            Ok(address) if trusted_proxies.contains(&address) => continue,
            Ok(address) => return address,
            // Not an address (garbage, or a port the proxy should not add): the chain
            // cannot be followed further, so the last trusted hop stands for the client.
            Err(_) => return peer,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    const PROXY: &str = "10.0.0.1";

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40_000)
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn address(trusted: &[&str], from: &str, values: &[&str]) -> String {
        let trusted: Vec<IpAddr> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        client_address(&trusted, peer(from), &forwarded(values)).to_string()
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        // No proxy trusted: the header is ignored.
        assert_eq!(address(&[], PROXY, &["203.0.113.5"]), PROXY);
        // Another peer than the proxy: ignored too.
        assert_eq!(
            address(&[PROXY], "192.0.2.9", &["203.0.113.5"]),
            "192.0.2.9"
        );
        // The proxy: its client.
        assert_eq!(address(&[PROXY], PROXY, &["203.0.113.5"]), "203.0.113.5");
        // No header from the proxy: the proxy itself.
        assert_eq!(address(&[PROXY], PROXY, &[]), PROXY);
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        // What the client wrote (left) cannot hide it.
        assert_eq!(
            address(&[PROXY], PROXY, &["1.2.3.4, 203.0.113.5"]),
            "203.0.113.5"
        );
        // Chained trusted proxies are skipped, across headers.
        assert_eq!(
            address(
                &[PROXY, "10.0.0.2"],
                PROXY,
                &["203.0.113.5, 10.0.0.2", "10.0.0.1"]
            ),
            "203.0.113.5"
        );
        assert_eq!(address(&[PROXY], PROXY, &[" 2001:db8::7 "]), "2001:db8::7");
        // Garbage where the proxy's entry should be: the proxy stands for the client.
        assert_eq!(address(&[PROXY], PROXY, &["203.0.113.5, junk"]), PROXY);
        assert_eq!(address(&[PROXY], PROXY, &["203.0.113.5:8080"]), PROXY);
    }

    proptest! {
        /// Whatever a header holds: no panic, and the answer is the peer or an address the
        /// header names.
        #[test]
        fn any_header_gives_the_peer_or_a_listed_address(value in "[ -~]{0,80}") {
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(FORWARDED_FOR, value);
            }
            let proxy: IpAddr = PROXY.parse().unwrap();
            let got = client_address(&[proxy], peer(PROXY), &headers);
            let listed = value.split(',').any(|e| e.trim().parse::<IpAddr>() == Ok(got));
            prop_assert!(got == proxy || listed);
        }
    }
}
