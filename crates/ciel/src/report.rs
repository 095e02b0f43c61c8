//! `ciel status` (the cloud at a glance) and `ciel usage` (metered usage per project, for
//! billing), through the controller's `/ciel/v1` API; tables as the `openstack` command
//! prints them, or JSON and CSV for scripts.

use crate::client::Session;
use clap::{Args, ValueEnum};
use serde_json::Value;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Args)]
pub struct StatusArgs {
    /// Where `ciel up` wrote admin-openrc (used when no OS_AUTH_URL is set).
    #[arg(long, env = "CIEL_DATA_DIR", default_value = "/var/lib/ciel")]
    data_dir: PathBuf,
    #[arg(short = 'f', long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Args)]
pub struct UsageArgs {
    /// Start of the period (ISO 8601, e.g. 2026-12-01T00:00:00) [default: today 00:00 UTC].
    #[arg(long)]
    start: Option<String>,
    /// End of the period [default: now].
    #[arg(long)]
    end: Option<String>,
    /// One project's usage (members get their own project's only).
    #[arg(long)]
    project: Option<String>,
    #[arg(long, env = "CIEL_DATA_DIR", default_value = "/var/lib/ciel")]
    data_dir: PathBuf,
    #[arg(short = 'f', long, value_enum, default_value = "table")]
    format: Format,
}

/// The usage figures, in column order.
const USAGE_COLUMNS: [&str; 7] = [
    "server_hours",
    "vcpu_hours",
    "ram_gib_hours",
    "disk_gib_hours",
    "volume_gib_hours",
    "floating_ip_hours",
    "load_balancer_hours",
];

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

pub fn status(args: StatusArgs) -> anyhow::Result<()> {
    let v = runtime()?.block_on(async {
        let s = Session::open(&args.data_dir).await?;
        s.get("/ciel/v1/status", &[]).await
    })?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
        Format::Table | Format::Csv => print_status(&v, matches!(args.format, Format::Csv)),
    }
    Ok(())
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn rows(v: &Value, key: &str, columns: &[&str]) -> Vec<Vec<String>> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| columns.iter().map(|c| text(&x[*c])).collect())
                .collect()
        })
        .unwrap_or_default()
}

fn print_status(v: &Value, csv_out: bool) {
    let sections: [(&str, &str, &[&str]); 4] = [
        (
            "Controllers",
            "controllers",
            &["hostname", "id", "alive", "last_seen_seconds_ago", "this"],
        ),
        (
            "Hosts",
            "hosts",
            &[
                "hostname",
                "up",
                "enabled",
                "last_report_seconds_ago",
                "desired_generation",
                "applied_generation",
            ],
        ),
        ("Resources", "resources", &["type", "state", "count"]),
        (
            "Recent errors",
            "recent_errors",
            &["type", "id", "project_id", "message"],
        ),
    ];
    for (title, key, columns) in sections {
        let r = rows(v, key, columns);
        if csv_out {
            println!("# {title}");
            print!("{}", csv(columns, &r));
        } else {
            println!("{title}:");
            print!("{}", table(columns, &r));
        }
    }
    let hosts = v["hosts"].as_array().map(Vec::len).unwrap_or(0);
    let down = v["hosts"]
        .as_array()
        .map(|a| a.iter().filter(|h| h["up"] == Value::Bool(false)).count())
        .unwrap_or(0);
    if !csv_out {
        println!("{hosts} hosts, {down} down");
    }
}

pub fn usage(args: UsageArgs) -> anyhow::Result<()> {
    let v = runtime()?.block_on(async {
        let s = Session::open(&args.data_dir).await?;
        let mut q = vec![];
        if let Some(t) = &args.start {
            q.push(("start", t.clone()));
        }
        if let Some(t) = &args.end {
            q.push(("end", t.clone()));
        }
        if let Some(p) = &args.project {
            q.push(("project_id", p.clone()));
        }
        s.get("/ciel/v1/usage", &q).await
    })?;
    let mut columns = vec!["project_id"];
    columns.extend(USAGE_COLUMNS);
    let figure = |x: &Value, c: &str| match x[c].as_f64() {
        Some(f) => format!("{f:.4}"),
        None => text(&x[c]),
    };
    let r: Vec<Vec<String>> = v["projects"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| columns.iter().map(|c| figure(x, c)).collect())
                .collect()
        })
        .unwrap_or_default();
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
        Format::Csv => print!("{}", csv(&columns, &r)),
        Format::Table => print!("{}", table(&columns, &r)),
    }
    Ok(())
}

/// An OpenStack-style table: `+---+` rules around padded cells.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rule = format!(
        "+{}+\n",
        widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("+")
    );
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!(" {c}{} ", " ".repeat(w - c.chars().count())))
            .collect();
        format!("|{}|\n", padded.join("|"))
    };
    let mut out = rule.clone();
    out += &line(headers.to_vec());
    out += &rule;
    for r in rows {
        out += &line(r.iter().map(String::as_str).collect());
    }
    out + &rule
}

/// RFC 4180 CSV: fields with commas, quotes or line breaks are quoted.
pub fn csv(headers: &[&str], rows: &[Vec<String>]) -> String {
    let field = |f: &str| {
        if f.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f.to_string()
        }
    };
    let mut out = headers.join(",") + "\n";
    for r in rows {
        out += &(r.iter().map(|f| field(f)).collect::<Vec<_>>().join(",") + "\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_csv_are_shaped_as_clients_expect() {
        let rows = vec![
            vec!["p1".to_string(), "1.5".to_string()],
            vec!["a,\"b\"".to_string(), "2".to_string()],
        ];
        assert_eq!(
            table(&["project_id", "hours"], &rows[..1]),
            "+------------+-------+\n| project_id | hours |\n+------------+-------+\n| p1         | 1.5   |\n+------------+-------+\n"
        );
        assert_eq!(
            csv(&["project_id", "hours"], &rows),
            "project_id,hours\np1,1.5\n\"a,\"\"b\"\"\",2\n"
        );
    }
}
