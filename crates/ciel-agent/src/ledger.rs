//! The last accepted host config, persisted so a restarted agent knows what its VMs should be
//! before the controller answers (written atomically: temp file + rename).

use anyhow::Context;
use ciel_proto::HostConfig;
use std::path::PathBuf;

pub struct Ledger {
    path: PathBuf,
}

impl Ledger {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn load(&self) -> Option<HostConfig> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn store(&self, cfg: &HostConfig) -> anyhow::Result<()> {
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(cfg)?).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }
}

/// Writes a secret file readable by its owner only (temp file + rename).
pub fn write_private(path: &std::path::Path, content: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_loads() {
        let dir = std::env::temp_dir().join(format!("ciel-ledger-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let l = Ledger::new(dir.join("host-config.json"));
        assert!(l.load().is_none());
        let cfg = HostConfig {
            host_id: "h".into(),
            generation: 7,
            ..Default::default()
        };
        l.store(&cfg).unwrap();
        assert_eq!(l.load().unwrap(), cfg);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
