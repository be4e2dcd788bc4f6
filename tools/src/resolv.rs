//! resolv.conf from what dhcpcd passes its hook. The values come from a DHCP
//! server on the network, so they are checked: only IP addresses become
//! name servers, only host-name characters become search domains, and
//! both are bounded as the C library bounds them.

use std::net::IpAddr;

/// glibc's MAXNS: later name servers are ignored by every resolver.
const MAX_SERVERS: usize = 3;
/// glibc's MAXDNSRCH.
const MAX_SEARCH: usize = 6;
/// The longest DNS name.
const MAX_NAME: usize = 253;

/// The reasons dhcpcd gives when an interface has (new) configuration.
const UP: [&str; 12] = [
    "BOUND",
    "RENEW",
    "REBIND",
    "REBOOT",
    "INFORM",
    "STATIC",
    "BOUND6",
    "RENEW6",
    "REBIND6",
    "REBOOT6",
    "INFORM6",
    "ROUTERADVERT",
];

/// The new resolv.conf, or None when this event brings no name servers
/// (the file is then left as it is).
pub fn render<'a>(var: &dyn Fn(&str) -> Option<&'a str>) -> Option<String> {
    let reason = var("reason")?;
    if !UP.contains(&reason) {
        return None;
    }
    let mut servers: Vec<IpAddr> = Vec::new();
    for key in ["new_domain_name_servers", "new_dhcp6_name_servers"] {
        for word in var(key).unwrap_or("").split_ascii_whitespace() {
            if let Ok(ip) = word.parse::<IpAddr>()
                && !servers.contains(&ip)
                && servers.len() < MAX_SERVERS
            {
                servers.push(ip);
            }
        }
    }
    if servers.is_empty() {
        return None;
    }
    let mut search: Vec<&str> = Vec::new();
    for key in [
        "new_domain_search",
        "new_dhcp6_domain_search",
        "new_domain_name",
    ] {
        for word in var(key).unwrap_or("").split_ascii_whitespace() {
            let word = word.trim_end_matches('.');
            if is_domain(word) && !search.contains(&word) && search.len() < MAX_SEARCH {
                search.push(word);
            }
        }
    }
    let interface = var("interface").filter(|i| is_domain(i)).unwrap_or("?");
    let mut out = format!("# written by cairn-dhcpcd-hook for {interface} ({reason})\n");
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    Some(out)
}

fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::render;

    fn run(vars: &[(&str, &'static str)]) -> Option<String> {
        let vars = vars.to_vec();
        render(&move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| *v))
    }

    #[test]
    fn a_lease_writes_its_name_servers_and_search_domains() {
        let text = run(&[
            ("reason", "BOUND"),
            ("interface", "eth0"),
            ("new_domain_name_servers", "10.0.2.3 10.0.2.3 192.0.2.53"),
            ("new_domain_name", "example.internal"),
        ])
        .unwrap();
        assert_eq!(
            text,
            "# written by cairn-dhcpcd-hook for eth0 (BOUND)\nsearch example.internal\nnameserver 10.0.2.3\nnameserver 192.0.2.53\n"
        );
    }

    #[test]
    fn events_without_servers_or_going_down_leave_the_file_alone() {
        assert_eq!(run(&[("reason", "BOUND"), ("interface", "eth0")]), None);
        assert_eq!(
            run(&[
                ("reason", "EXPIRE"),
                ("new_domain_name_servers", "10.0.2.3")
            ]),
            None
        );
        assert_eq!(run(&[("new_domain_name_servers", "10.0.2.3")]), None);
    }

    #[test]
    fn hostile_values_from_the_network_are_dropped() {
        let text = run(&[
            ("reason", "RENEW"),
            ("interface", "eth0\nnameserver 6.6.6.6"),
            (
                "new_domain_name_servers",
                "10.0.2.3\nnameserver 6.6.6.6 not-an-ip 1.1.1.1 2.2.2.2 3.3.3.3",
            ),
            ("new_domain_search", "ok.example bad\ndomain $(reboot)"),
        ])
        .unwrap();
        assert_eq!(
            text,
            "# written by cairn-dhcpcd-hook for ? (RENEW)\nsearch ok.example bad domain\nnameserver 10.0.2.3\nnameserver 6.6.6.6\nnameserver 1.1.1.1\n"
        );
    }
}
