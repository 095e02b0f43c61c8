//! The directory several controllers share (`ControllerConfig::shared_dir`): files created
//! there on first start are created under an exclusive lock, so controllers starting at the
//! same moment agree on one token key repository and one join token.

use std::fs::File;
use std::path::Path;

/// Holds `DIR/.lock` exclusively until the returned file is dropped.
pub fn lock(dir: &Path) -> std::io::Result<File> {
    std::fs::create_dir_all(dir)?;
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))?;
    f.lock()?;
    Ok(f)
}
