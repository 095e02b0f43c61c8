//! What haproxy's stats socket says, in the report's terms: `show stat` is CSV whose first
//! line names the columns (`# pxname,svname,…`; the set grows between versions, so columns
//! are found by name). Frontend rows are listeners (`pxname` = listener id), server rows
//! are members (`pxname` = `<pool id>:<listener id>`, `svname` = member id).

use ciel_proto::{LbStats, MemberState};
use std::collections::BTreeMap;

/// One load balancer's observed state.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Observed {
    /// By listener id: accepting (`OPEN`), and its counters.
    pub listeners: BTreeMap<String, (bool, LbStats)>,
    /// By (pool id, member id).
    pub members: BTreeMap<(String, String), MemberState>,
}

/// Listener up-states and member states, without counters: what a health watcher compares.
pub type Health = (Vec<(String, bool)>, Vec<((String, String), MemberState)>);

impl Observed {
    /// What a health watcher compares.
    pub fn health(&self) -> Health {
        (
            self.listeners.iter().map(|(k, (up, _))| (k.clone(), *up)).collect(),
            self.members.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        )
    }
}

/// A server's `status` column as a member state: `UP`, `UP 1/3` (failing, still up) and
/// `DRAIN`/`NOLB` are up; `DOWN`, `DOWN 1/2` (recovering, still down) down; `MAINT` (also
/// `MAINT (via …)`) administratively down; `no check` served unchecked.
fn member_state(status: &str) -> Option<MemberState> {
    let s = status.trim();
    Some(if s.starts_with("UP") || s == "DRAIN" || s == "NOLB" {
        MemberState::Up
    } else if s.starts_with("DOWN") {
        MemberState::Down
    } else if s.starts_with("MAINT") {
        MemberState::Maint
    } else if s == "no check" {
        MemberState::NoCheck
    } else {
        return None;
    })
}

/// Parses `show stat` output; rows it cannot read are skipped.
pub fn parse(csv: &str) -> Observed {
    let mut out = Observed::default();
    let mut lines = csv.lines();
    let Some(header) = lines.next().and_then(|h| h.strip_prefix("# ")) else {
        return out;
    };
    let cols: Vec<&str> = header.split(',').collect();
    let col = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(px), Some(sv), Some(status)) = (col("pxname"), col("svname"), col("status")) else {
        return out;
    };
    let counters = ["bin", "bout", "scur", "stot", "ereq"].map(col);
    for line in lines.filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let f: Vec<&str> = line.split(',').collect();
        let get = |i: Option<usize>| i.and_then(|i| f.get(i)).copied().unwrap_or_default();
        let num = |i: Option<usize>| get(i).parse::<u64>().unwrap_or(0);
        let (pxname, svname) = (get(Some(px)), get(Some(sv)));
        match svname {
            "FRONTEND" => {
                let stats = LbStats {
                    bytes_in: num(counters[0]),
                    bytes_out: num(counters[1]),
                    active_connections: num(counters[2]),
                    total_connections: num(counters[3]),
                    request_errors: num(counters[4]),
                };
                out.listeners
                    .insert(pxname.to_string(), (get(Some(status)) == "OPEN", stats));
            }
            "BACKEND" | "" => {}
            member => {
                let (Some((pool, _listener)), Some(state)) = (pxname.split_once(':'), member_state(get(Some(status))))
                else {
                    continue;
                };
                // A pool several listeners use has a backend each: the first row counts.
                out.members
                    .entry((pool.to_string(), member.to_string()))
                    .or_insert(state);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from haproxy 2.6.12: a frontend that served one request, a backend with a
    /// checked live server, a checked dead one, a disabled one and an unchecked one.
    const SAMPLE: &str = include_str!("testdata/show-stat.csv");

    #[test]
    fn parses_a_captured_show_stat() {
        let o = parse(SAMPLE);
        let (up, stats) = &o.listeners["fe-1"];
        assert!(*up);
        assert_eq!(
            *stats,
            LbStats {
                bytes_in: 82,
                bytes_out: 520,
                active_connections: 0,
                total_connections: 1,
                request_errors: 0
            }
        );
        let state = |m: &str| o.members[&("pool-1".to_string(), m.to_string())];
        assert_eq!(state("m-up"), MemberState::Up);
        assert_eq!(state("m-down"), MemberState::Down);
        assert_eq!(state("m-maint"), MemberState::Maint);
        assert_eq!(state("m-nocheck"), MemberState::NoCheck);
        assert_eq!(o.members.len(), 4);
    }

    #[test]
    fn transitional_states_and_garbage() {
        assert_eq!(member_state("UP 1/3"), Some(MemberState::Up));
        assert_eq!(member_state("DOWN 1/2"), Some(MemberState::Down));
        assert_eq!(member_state("MAINT (via x/y)"), Some(MemberState::Maint));
        assert_eq!(member_state("???"), None);
        assert_eq!(parse(""), Observed::default());
        assert_eq!(parse("Unknown command\n"), Observed::default());
        let o = parse("# pxname,svname,status,bin\nl1,FRONTEND,STOP,x\np1:l1,m1,DOWN,\nnocolon,m2,UP,\n");
        assert!(!o.listeners["l1"].0);
        assert_eq!(o.listeners["l1"].1.bytes_in, 0);
        assert_eq!(o.members.len(), 1);
    }
}
