//! Where webhooks may be delivered: any http(s) destination by default, or only public addresses.

use std::net::IpAddr;

use reqwest::Url;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DestinationPolicy {
    /// Any http or https url, loopback and private addresses included (automation tools often
    /// run beside inboxd).
    #[default]
    Any,
    /// Only addresses on the public internet: no loopback, private, link-local or unspecified ones.
    Public,
}

impl DestinationPolicy {
    pub fn parse(text: &str) -> Option<DestinationPolicy> {
        match text {
            "any" => Some(DestinationPolicy::Any),
            "public" => Some(DestinationPolicy::Public),
            _ => None,
        }
    }

    /// Checks a url's form and, under `Public`, every address its host resolves to.
    pub async fn check(self, url: &str) -> Result<Url, String> {
        let parsed = Url::parse(url).map_err(|e| format!("{url:?} is not a url: {e}"))?;
        if parsed.scheme() != "http" && parsed.scheme() != "https" {
            return Err(format!("{url:?} must use http or https"));
        }
        let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(|| format!("{url:?} has no host"))?;
        if self == DestinationPolicy::Public {
            let port = parsed.port_or_known_default().unwrap_or(80);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let addresses =
                tokio::net::lookup_host((host, port)).await.map_err(|e| format!("{host} does not resolve: {e}"))?;
            for address in addresses {
                if !is_public(address.ip()) {
                    return Err(format!("{host} resolves to {}, which this server may not deliver to", address.ip()));
                }
            }
        }
        Ok(parsed)
    }
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| !is_public(IpAddr::V4(v4))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_public_policy_refuses_loopback_and_private_addresses() {
        for url in ["http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://[::1]/x", "http://192.168.0.10/x"] {
            assert!(DestinationPolicy::Public.check(url).await.is_err(), "{url}");
            assert!(DestinationPolicy::Any.check(url).await.is_ok(), "{url}");
        }
        assert!(DestinationPolicy::Any.check("ftp://example.com/x").await.is_err());
        assert!(DestinationPolicy::Public.check("http://93.184.216.34/x").await.is_ok());
    }
}
