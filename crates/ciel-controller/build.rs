//! Embeds the built web dashboard (`dashboard/dist`, made by `scripts/build-dashboard`) into
//! the binary: a generated table of `(path, bytes)`. When the dashboard has not
//! been built, the table holds one page saying how to build it, so `cargo build` alone works.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist = manifest.join("../../dashboard/dist");
    // A missing path counts as changed on every build (the controller would be rebuilt each
    // time): without a built dashboard, watch the folder it will be built in.
    let watched = if dist.is_dir() {
        dist.clone()
    } else {
        manifest.join("../../dashboard")
    };
    println!("cargo:rerun-if-changed={}", watched.display());
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    let mut out =
        String::from("/// The dashboard's files: (path under `/`, bytes).\npub static ASSETS: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        let _ = writeln!(out, "    ({rel:?}, include_bytes!({:?})),", abs.display().to_string());
    }
    out.push_str("];\n");
    let _ = writeln!(
        out,
        "/// False when `dashboard/dist` was missing at build time.\npub const BUILT: bool = {};",
        !files.is_empty()
    );
    let out_path = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("dashboard_assets.rs");
    std::fs::write(out_path, out).unwrap();
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            files.push((rel, path.canonicalize().unwrap()));
        }
    }
}
