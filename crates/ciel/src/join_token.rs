//! `ciel join-token`: the admin's commands for the tokens hypervisors join with, run on the
//! controller host against its data directory (like `ciel keys rotate`).

use ciel_controller::app::compute::join_tokens;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Action {
    /// Create a token and print it (shown only this once).
    Create {
        #[arg(long, default_value = "/var/lib/ciel")]
        data_dir: PathBuf,
        /// How long the token joins new hosts: e.g. 30m, 24h, 7d, or never.
        #[arg(long, default_value = "24h", value_parser = parse_ttl)]
        ttl: Ttl,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List tokens (ids, not secrets).
    List {
        #[arg(long, default_value = "/var/lib/ciel")]
        data_dir: PathBuf,
    },
    /// Revoke a token by id; hosts that already joined stay.
    Delete {
        #[arg(long, default_value = "/var/lib/ciel")]
        data_dir: PathBuf,
        id: String,
    },
}

/// Seconds a token lives; none: until revoked.
#[derive(Clone, Debug, PartialEq)]
pub struct Ttl(Option<i64>);

/// `never`, or a number with unit s, m, h or d.
fn parse_ttl(s: &str) -> Result<Ttl, String> {
    if s == "never" {
        return Ok(Ttl(None));
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("expected e.g. 24h, 7d or never, got {s:?}"))?;
    let scale = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(format!("unknown unit {unit:?} (s, m, h, d)")),
    };
    Ok(Ttl(Some(n * scale)))
}

fn time(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "never".into())
}

/// OpenStack CLI habits: a Field/Value box for one object, a header row for a list.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let line = format!(
        "+{}+\n",
        w.iter().map(|n| "-".repeat(n + 2)).collect::<Vec<_>>().join("+")
    );
    let row = |cells: Vec<String>| {
        let cells: Vec<String> = cells.iter().zip(&w).map(|(c, n)| format!(" {c:<n$} ")).collect();
        format!("|{}|\n", cells.join("|"))
    };
    let mut out = line.clone();
    out.push_str(&row(header.iter().map(|h| h.to_string()).collect()));
    out.push_str(&line);
    for r in rows {
        out.push_str(&row(r.clone()));
    }
    out.push_str(&line);
    out
}

pub fn run(action: Action) -> anyhow::Result<()> {
    match action {
        Action::Create {
            data_dir,
            ttl,
            description,
        } => {
            let (t, text) = join_tokens::create(&data_dir, ttl.0, &description)?;
            let rows = [
                ("id", t.id),
                ("token", text),
                ("expires_at", time(t.expires_at)),
                ("description", t.description),
            ];
            let rows: Vec<Vec<String>> = rows.into_iter().map(|(f, v)| vec![f.into(), v]).collect();
            print!("{}", table(&["Field", "Value"], &rows));
        }
        Action::List { data_dir } => {
            let now = chrono::Utc::now().timestamp();
            let rows: Vec<Vec<String>> = join_tokens::list(&data_dir)?
                .into_iter()
                .map(|t| {
                    let state = if t.expired(now) { "expired" } else { "active" };
                    vec![
                        t.id,
                        state.into(),
                        time(Some(t.created_at)),
                        time(t.expires_at),
                        t.description,
                    ]
                })
                .collect();
            print!(
                "{}",
                table(&["ID", "State", "Created At", "Expires At", "Description"], &rows)
            );
        }
        Action::Delete { data_dir, id } => {
            if !join_tokens::revoke(&data_dir, &id)? {
                anyhow::bail!("no join token with id {id}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_parse_with_units() {
        assert_eq!(parse_ttl("never"), Ok(Ttl(None)));
        assert_eq!(parse_ttl("90"), Ok(Ttl(Some(90))));
        assert_eq!(parse_ttl("30m"), Ok(Ttl(Some(1800))));
        assert_eq!(parse_ttl("24h"), Ok(Ttl(Some(86400))));
        assert_eq!(parse_ttl("7d"), Ok(Ttl(Some(604800))));
        assert!(parse_ttl("7w").is_err());
        assert!(parse_ttl("h").is_err());
    }
}
