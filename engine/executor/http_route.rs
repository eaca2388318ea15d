//! http_route: where one HTTP request connects. A port-forwarded request keeps its scheme and
//! the name its certificate is checked against (the URL's host, or `tls.server_name`) and is
//! pinned to `127.0.0.1:<local port>`; `tls.server_name` without a forward sends to that name
//! pinned to the URL host's own addresses. It resolves names and rewrites URLs; it sends
//! nothing and knows nothing of retries.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use url::{Host, Url};

use super::{HttpRequest, StepError};

/// A name reqwest must not look up in DNS, and the addresses it stands for.
pub(super) type Pin = (String, Vec<SocketAddr>);

/// The URL to send to, and the pin its host needs.
#[derive(Debug)]
pub(super) struct Route {
    pub url: Url,
    pub pin: Option<Pin>,
    /// Nothing between here and the server: no proxy may be used.
    pub direct: bool,
}

/// `req.url` plus `query`, rerouted through the forwarded port when there is one, and pinned
/// for `tls.server_name` (the one DNS lookup this needs happens here).
pub(super) async fn route(
    req: &HttpRequest,
    forwarded_port: Option<u16>,
) -> Result<Route, StepError> {
    let mut route = forwarded_route(req, forwarded_port)?;
    if route.pin.is_none()
        && let Some(name) = &req.tls.server_name
    {
        let addrs = lookup(&route.url).await?;
        route.direct = route.direct || addrs.iter().all(|a| a.ip().is_loopback());
        set_host(&mut route.url, name)?;
        route.pin = Some((name.clone(), addrs));
    }
    Ok(route)
}

/// Everything but the DNS lookup of [`route`]: parsing, the query, a port-forward.
pub(super) fn forwarded_route(
    req: &HttpRequest,
    forwarded_port: Option<u16>,
) -> Result<Route, StepError> {
    let mut url = Url::parse(&req.url).map_err(|err| StepError::InvalidRequest {
        message: format!("invalid URL {}: {err}", super::http::redact_url(&req.url)),
    })?;
    let mut route = Route {
        direct: forwarded_port.is_some() || is_loopback(&url),
        pin: None,
        url: url.clone(),
    };
    if let Some(port) = forwarded_port {
        let name = req.tls.server_name.clone().or_else(|| domain(&url));
        if let Some(name) = name {
            set_host(&mut url, &name)?;
            route.pin = Some((name, vec![SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0)]));
        } else {
            // An IP URL: the certificate (if any) is checked against 127.0.0.1.
            set_host(&mut url, "127.0.0.1")?;
        }
        // reqwest takes the URL's port, never the pinned address's.
        url.set_port(Some(port))
            .map_err(|()| invalid(&url, "cannot set the port"))?;
    }
    if !req.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&req.query);
    }
    route.url = url;
    Ok(route)
}

/// Whether `url` names this machine (`localhost`, 127.0.0.0/8, `::1`).
pub(super) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn domain(url: &Url) -> Option<String> {
    match url.host() {
        Some(Host::Domain(d)) => Some(d.to_string()),
        _ => None,
    }
}

fn set_host(url: &mut Url, host: &str) -> Result<(), StepError> {
    url.set_host(Some(host))
        .map_err(|_| invalid(url, &format!("cannot use host `{host}`")))
}

fn invalid(url: &Url, what: &str) -> StepError {
    StepError::InvalidRequest {
        message: format!(
            "cannot route {}: {what}",
            super::http::redact_url(url.as_str())
        ),
    }
}

/// The addresses of the URL's host (port 0: reqwest takes the URL's).
async fn lookup(url: &Url) -> Result<Vec<SocketAddr>, StepError> {
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, 0)]);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|err| StepError::Transport {
            kind: super::TransportKind::Connect,
            message: format!("cannot resolve {host}: {err}"),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(StepError::Transport {
            kind: super::TransportKind::Connect,
            message: format!("{host} resolves to no address"),
        });
    }
    Ok(addrs)
}
