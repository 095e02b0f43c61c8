//! Images registered from local files when `ciel up` starts, so a fresh cloud can boot something.

use crate::app::image::params::{CreateImage, ImageAttr};
use crate::app::App;
use crate::config::SeedImage;
use crate::db::image;
use crate::error::{Error, Result};
use serde_json::Value;

impl App {
    /// Registers each seed image (public, owned by the admin project) unless one with that name
    /// already exists there. Data goes through the same upload path and checks as any upload.
    pub async fn seed_images(&self, admin_user_id: &str, admin_project_id: &str) -> Result<()> {
        if self.cfg.seed_images.is_empty() {
            return Ok(());
        }
        let admin = self.internal_caller(admin_user_id, admin_project_id).await?;
        let existing = image::list(&self.db).await?;
        for seed in &self.cfg.seed_images {
            let taken = existing
                .iter()
                .any(|i| i.name.as_deref() == Some(seed.name.as_str()) && i.owner.as_deref() == Some(admin_project_id));
            if taken {
                continue;
            }
            let disk_format = match &seed.disk_format {
                Some(f) => f.clone(),
                None => detect_format(&self.cfg.image.qemu_img, seed).await?,
            };
            let mut image = CreateImage::default()
                .with(ImageAttr::name(Some(seed.name.clone()))?)
                .with(ImageAttr::visibility("public".into())?)
                .with(ImageAttr::disk_format(disk_format)?)
                .with(ImageAttr::container_format(seed.container_format.clone())?);
            for (k, v) in &seed.properties {
                image = image.with(ImageAttr::parse(k, Value::String(v.clone()))?);
            }
            let img = self.create_image(&admin, image).await?;
            let file = tokio::fs::File::open(&seed.file)
                .await
                .map_err(|e| Error::bad_request(format!("cannot open image file {}: {e}", seed.file.display())))?;
            let stream = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20);
            match self.upload_image(&admin, &img.id, stream).await {
                Ok(done) => tracing::info!(name = %seed.name, id = %done.id, size = done.size, "registered image"),
                Err(e) => {
                    self.delete_image(&admin, &img.id).await.ok();
                    return Err(Error::bad_request(format!(
                        "image {} ({}): {e}",
                        seed.name,
                        seed.file.display()
                    )));
                }
            }
        }
        Ok(())
    }
}

async fn detect_format(qemu_img: &str, seed: &SeedImage) -> Result<String> {
    let out = tokio::process::Command::new(qemu_img)
        .args(["info", "--output=json", "-U"])
        .arg(&seed.file)
        .output()
        .await
        .map_err(|e| Error::Internal(format!("cannot run {qemu_img}: {e}")))?;
    if !out.status.success() {
        return Err(Error::bad_request(format!(
            "cannot inspect {}: {}",
            seed.file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(match v["format"].as_str() {
        Some("vpc") => "vhd".into(),
        Some(f) => f.into(),
        None => "raw".into(),
    })
}
