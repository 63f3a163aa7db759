//! Where the media plane can be reached: the host candidates it offers, and
//! which of them a packet arrived at.
//!
//! ICE matches a connectivity check by the local candidate it was sent to,
//! so each packet must be handed to str0m with that candidate as its
//! destination. Bound to one address, that is the address. Bound to every
//! interface (`0.0.0.0`, `[::]`), it is the packet's real destination, read
//! from `IP_PKTINFO`/`IPV6_PKTINFO` (UDP) or the accepted socket's own
//! address (TCP), and every usable local address is offered. Behind a 1:1
//! NAT (`public_ip` set), packets arrive at a private address but were sent
//! to the public one: that is the only candidate offered, and every packet
//! belongs to it.

use std::net::IpAddr;

/// The candidates of one media port, and the map from arrival to candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Candidates {
    /// Offered in answers, in order of preference.
    offered: Vec<IpAddr>,
    /// The 1:1 NAT's public address, when configured.
    public: Option<IpAddr>,
}

impl Candidates {
    /// The candidates of a socket bound to `bound`, with `public` the
    /// configured public address, `preferred` the address of the default
    /// route (offered first when bound to every interface) and `locals` the
    /// machine's interface addresses.
    pub(crate) fn new(
        bound: IpAddr,
        public: Option<IpAddr>,
        preferred: Option<IpAddr>,
        locals: &[IpAddr],
    ) -> Candidates {
        let offered = match public {
            Some(public) => vec![public],
            None if bound.is_unspecified() => {
                // A v6 socket on `[::]` is dual-stack (Linux's default): both families.
                let usable = |ip: &IpAddr| usable(*ip) && (bound.is_ipv6() || ip.is_ipv4());
                let mut offered: Vec<IpAddr> = preferred
                    .into_iter()
                    .filter(|ip| locals.contains(ip))
                    .collect();
                for ip in locals.iter().copied().filter(usable) {
                    if !offered.contains(&ip) {
                        offered.push(ip);
                    }
                }
                if offered.is_empty() {
                    // No interface listed (or none usable): the loopback,
                    // which every host has.
                    offered.push(IpAddr::from([127, 0, 0, 1]));
                }
                offered
            }
            None => vec![bound],
        };
        Candidates { offered, public }
    }

    /// The candidates of a socket bound to `bound`, from this machine's
    /// interfaces now.
    pub(crate) fn discover(bound: IpAddr, public: Option<IpAddr>) -> Candidates {
        let locals: Vec<IpAddr> = if bound.is_unspecified() && public.is_none() {
            match if_addrs::get_if_addrs() {
                Ok(interfaces) => interfaces
                    .iter()
                    .filter(|i| i.is_oper_up() || i.is_loopback())
                    .map(if_addrs::Interface::ip)
                    .collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list the interfaces");
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        Candidates::new(bound, public, default_route(bound), &locals)
    }

    /// The addresses offered, the preferred first.
    pub(crate) fn offered(&self) -> &[IpAddr] {
        &self.offered
    }

    /// The candidate a packet that really arrived at `arrived` belongs to
    /// (None: the socket could not say).
    pub(crate) fn arrived_at(&self, arrived: Option<IpAddr>) -> IpAddr {
        if let Some(public) = self.public {
            return public;
        }
        // An address not offered (one that came up after the start) is
        // passed as it is: ICE will not match it, rather than match a wrong
        // candidate.
        arrived.map_or(self.offered[0], |ip| ip.to_canonical())
    }

    /// The source address to send from for a pair on `candidate`: itself,
    /// unless it is the NAT's public address (the kernel picks the private
    /// one, which the NAT rewrites).
    pub(crate) fn send_from(&self, candidate: IpAddr) -> Option<IpAddr> {
        (Some(candidate) != self.public).then_some(candidate)
    }
}

/// Whether `ip` is worth offering: not unspecified, not multicast, not an
/// IPv6 link-local address (it needs a scope no candidate carries).
fn usable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_unspecified() && !v4.is_multicast() && !v4.is_broadcast(),
        IpAddr::V6(v6) => {
            !v6.is_unspecified() && !v6.is_multicast() && v6.segments()[0] & 0xffc0 != 0xfe80
        }
    }
}

/// The address this machine would reach the world from, in `bound`'s
/// family: a UDP "connect" picks the route and sends nothing.
fn default_route(bound: IpAddr) -> Option<IpAddr> {
    let (any, far): (IpAddr, IpAddr) = if bound.is_ipv4() {
        ([0, 0, 0, 0].into(), [192, 0, 2, 1].into()) // TEST-NET-1: never routed to anyone
    } else {
        (
            std::net::Ipv6Addr::UNSPECIFIED.into(),
            "2001:db8::1".parse().ok()?, // the documentation prefix
        )
    };
    let socket = std::net::UdpSocket::bind((any, 0)).ok()?;
    socket.connect((far, 9)).ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn bound_to_one_address_it_is_the_candidate() {
        let c = Candidates::new(ip("10.0.0.5"), None, None, &[]);
        assert_eq!(c.offered(), &[ip("10.0.0.5")]);
        assert_eq!(c.arrived_at(Some(ip("10.0.0.5"))), ip("10.0.0.5"));
        assert_eq!(c.arrived_at(None), ip("10.0.0.5"));
        assert_eq!(c.send_from(ip("10.0.0.5")), Some(ip("10.0.0.5")));
    }

    #[test]
    fn bound_to_every_interface_each_address_is_its_own_candidate() {
        let locals = [
            ip("127.0.0.1"),
            ip("10.0.0.5"),
            ip("192.168.1.9"),
            ip("fe80::1"),
            ip("2001:db8::5"),
        ];
        let c = Candidates::new(ip("0.0.0.0"), None, Some(ip("192.168.1.9")), &locals);
        assert_eq!(
            c.offered(),
            &[ip("192.168.1.9"), ip("127.0.0.1"), ip("10.0.0.5")],
            "the default route's first, then the other IPv4 addresses"
        );
        // A check to the second address is matched to the second candidate,
        // never to the bound 0.0.0.0 (what str0m could not match).
        assert_eq!(c.arrived_at(Some(ip("10.0.0.5"))), ip("10.0.0.5"));
        assert_eq!(c.arrived_at(Some(ip("127.0.0.1"))), ip("127.0.0.1"));
        assert_eq!(c.send_from(ip("10.0.0.5")), Some(ip("10.0.0.5")));
    }

    #[test]
    fn bound_to_every_v6_interface_both_families_are_offered_and_mapped_addresses_unmapped() {
        let locals = [ip("127.0.0.1"), ip("::1"), ip("2001:db8::5"), ip("fe80::1")];
        let c = Candidates::new(ip("::"), None, None, &locals);
        assert_eq!(
            c.offered(),
            &[ip("127.0.0.1"), ip("::1"), ip("2001:db8::5")]
        );
        // A v4 packet on a dual-stack socket arrives at a v4-mapped address.
        assert_eq!(c.arrived_at(Some(ip("::ffff:127.0.0.1"))), ip("127.0.0.1"));
        assert_eq!(c.arrived_at(Some(ip("2001:db8::5"))), ip("2001:db8::5"));
    }

    #[test]
    fn behind_a_one_to_one_nat_everything_belongs_to_the_public_address() {
        let c = Candidates::new(
            ip("0.0.0.0"),
            Some(ip("203.0.113.7")),
            None,
            &[ip("10.0.0.5")],
        );
        assert_eq!(c.offered(), &[ip("203.0.113.7")]);
        assert_eq!(c.arrived_at(Some(ip("10.0.0.5"))), ip("203.0.113.7"));
        assert_eq!(c.arrived_at(None), ip("203.0.113.7"));
        assert_eq!(
            c.send_from(ip("203.0.113.7")),
            None,
            "the kernel picks the private source"
        );
        let bound = Candidates::new(ip("10.0.0.5"), Some(ip("203.0.113.7")), None, &[]);
        assert_eq!(bound.arrived_at(Some(ip("10.0.0.5"))), ip("203.0.113.7"));
    }

    #[test]
    fn with_no_usable_interface_listed_the_loopback_is_offered() {
        let c = Candidates::new(ip("0.0.0.0"), None, None, &[ip("fe80::1")]);
        assert_eq!(c.offered(), &[ip("127.0.0.1")]);
    }
}
