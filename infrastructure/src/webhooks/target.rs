//! Where a webhook may be sent: an `https://` URL without credentials whose host is on the
//! public internet. A business' endpoint is a URL a stranger chose, and our server sends to it
//! from inside our network, so an endpoint must not reach what only we can reach (a database,
//! a metadata service, an admin port): that is server-side request forgery.
//!
//! The URL is checked when the endpoint is registered and again before every try (an IP in the
//! URL is checked then); a host name is checked after it is resolved, by the [`PublicOnly`]
//! resolver the sender's HTTP client uses, so a name that resolves (or later re-resolves) to
//! an internal address is refused too. Redirects are not followed. For tests and local
//! development, `WEBHOOKS_ALLOW_HTTP_LOOPBACK` also allows `http://` to this machine
//! (`127.0.0.1`, `[::1]`, `localhost`) and nothing else that is internal.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// The longest URL an endpoint may have.
pub const URL_MAX: usize = 2_000;

/// Why a URL cannot be an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not a URL.
    #[error("the url is not a valid absolute URL")]
    NotAUrl,
    /// Longer than [`URL_MAX`].
    #[error("the url is longer than {URL_MAX} characters")]
    TooLong,
    /// Not `https://` (nor allowed `http://` loopback).
    #[error("the url must start with https://")]
    NotHttps,
    /// `user:password@` in the URL.
    #[error("the url must not hold a user name or password")]
    Credentials,
    /// A fragment (`#…`), which is never sent.
    #[error("the url must not have a fragment (#…)")]
    Fragment,
    /// Loopback, private, link-local or otherwise not on the public internet.
    #[error("the url's host is not on the public internet")]
    Internal,
}

/// Checks that `raw` may be an endpoint's URL; returns it parsed.
///
/// # Errors
/// A [`TargetError`] naming what is wrong.
pub fn check_url(raw: &str, allow_http_loopback: bool) -> Result<Url, TargetError> {
    if raw.chars().count() > URL_MAX {
        return Err(TargetError::TooLong);
    }
    let url = Url::parse(raw.trim()).map_err(|_| TargetError::NotAUrl)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Credentials);
    }
    if url.fragment().is_some() {
        return Err(TargetError::Fragment);
    }
    if !matches!(url.scheme(), "https" | "http") {
        return Err(TargetError::NotHttps);
    }
    let host = url.host().ok_or(TargetError::NotAUrl)?;
    let loopback = match &host {
        Host::Domain(name) => is_localhost(name),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_http_loopback && loopback => {}
        _ => return Err(TargetError::NotHttps),
    }
    if loopback {
        return if allow_http_loopback {
            Ok(url)
        } else {
            Err(TargetError::Internal)
        };
    }
    let internal = match host {
        Host::Domain(name) => is_internal_name(name),
        Host::Ipv4(ip) => !is_public(IpAddr::V4(ip), false),
        Host::Ipv6(ip) => !is_public(IpAddr::V6(ip), false),
    };
    if internal {
        return Err(TargetError::Internal);
    }
    Ok(url)
}

fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Names that never resolve to the public internet.
fn is_internal_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    !name.contains('.')
        || [".local", ".internal", ".localdomain", ".home.arpa"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// Whether `ip` is on the public internet (or, when `allow_loopback`, this machine).
pub fn is_public(ip: IpAddr, allow_loopback: bool) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip, allow_loopback),
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_public_v4(v4, allow_loopback);
            }
            is_public_v6(ip, allow_loopback)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // Benchmarking, 198.18.0.0/15.
        || (a == 198 && (b == 18 || b == 19))
        // Reserved, 240.0.0.0/4.
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_multicast()
        // Unique local, fc00::/7.
        || (first & 0xfe00) == 0xfc00
        // Link-local, fe80::/10.
        || (first & 0xffc0) == 0xfe80
        // Documentation, 2001:db8::/32.
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

/// A DNS resolver that drops every internal address, so no name leads the sender inside.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly {
    /// Whether loopback addresses are kept (`WEBHOOKS_ALLOW_HTTP_LOOPBACK`).
    pub allow_loopback: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| is_public(addr.ip(), allow_loopback))
                .collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_accept_a_public_https_url() {
        let url = check_url("https://crm.example.com/hooks/calls?x=1", false).unwrap();
        assert_eq!(url.as_str(), "https://crm.example.com/hooks/calls?x=1");
        assert!(check_url("https://93.184.216.34/hook", false).is_ok());
    }

    #[test]
    fn it_should_refuse_http_and_other_schemes() {
        for raw in [
            "http://crm.example.com/hook",
            "ftp://crm.example.com/",
            "file:///etc/passwd",
        ] {
            assert_eq!(check_url(raw, true), Err(TargetError::NotHttps), "{raw}");
        }
    }

    #[test]
    fn it_should_refuse_credentials_and_fragments() {
        assert_eq!(
            check_url("https://user:pw@crm.example.com/", false),
            Err(TargetError::Credentials)
        );
        assert_eq!(
            check_url("https://crm.example.com/#x", false),
            Err(TargetError::Fragment)
        );
        assert_eq!(check_url("not a url", false), Err(TargetError::NotAUrl));
    }

    #[test]
    fn it_should_refuse_internal_hosts() {
        for raw in [
            "https://127.0.0.1/",
            "https://localhost:8443/",
            "https://10.1.2.3/",
            "https://192.168.0.1/",
            "https://172.16.5.5/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://db/",
            "https://printer.local/",
            "https://metadata.google.internal/",
        ] {
            assert_eq!(check_url(raw, false), Err(TargetError::Internal), "{raw}");
        }
    }

    #[test]
    fn it_should_allow_http_to_this_machine_only_when_told_to() {
        for raw in [
            "http://127.0.0.1:9000/hook",
            "http://localhost:9000/",
            "http://[::1]:9000/",
        ] {
            assert_eq!(check_url(raw, false), Err(TargetError::NotHttps), "{raw}");
            assert!(check_url(raw, true).is_ok(), "{raw}");
        }
        assert_eq!(
            check_url("http://10.0.0.1/", true),
            Err(TargetError::NotHttps)
        );
        assert_eq!(
            check_url("https://10.0.0.1/", true),
            Err(TargetError::Internal)
        );
    }

    #[test]
    fn it_should_keep_only_public_addresses() {
        assert!(is_public("8.8.8.8".parse().unwrap(), false));
        assert!(is_public("2606:4700::1111".parse().unwrap(), false));
        assert!(!is_public("127.0.0.1".parse().unwrap(), false));
        assert!(is_public("127.0.0.1".parse().unwrap(), true));
        assert!(!is_public("10.0.0.1".parse().unwrap(), true));
        assert!(!is_public("::ffff:192.168.1.1".parse().unwrap(), false));
    }
}
