//! Image service logic against a real SQLite database and filesystem store.

use crate::common;

use ciel_controller::app::image::params::CreateImage;
use ciel_controller::app::App;
use ciel_controller::config::ControllerConfig;
use ciel_controller::db::sql;
use common::{body, login, tempdir};
use serde_json::json;

#[tokio::test]
async fn upload_interrupted_by_a_crash_is_reset_on_restart() {
    let dir = tempdir::Dir::new();
    let mut cfg = ControllerConfig::new(dir.0.clone(), "127.0.0.1:0".parse().unwrap());
    cfg.admin_password = Some("adminpw".into());
    let pool = ciel_controller::db::open_for_tests(&dir.0).await.unwrap();
    let app = App::new(pool.clone(), cfg.clone()).await.unwrap();
    app.bootstrap().await.unwrap();
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let img = app
        .create_image(
            &admin,
            CreateImage::try_from(body(
                json!({"name": "x", "disk_format": "raw", "container_format": "bare"}),
            ))
            .unwrap(),
        )
        .await
        .unwrap();
    // Simulate a crash in the middle of an upload: row in `saving`, a partial temp file on disk.
    sql::query("UPDATE images SET status = 'saving' WHERE id = ?")
        .bind(&img.id)
        .execute(&pool)
        .await
        .unwrap();
    let partial = dir.0.join("images").join(format!(".upload-{}-dead", img.id));
    std::fs::write(&partial, b"half").unwrap();
    drop(app);
    let app = App::new(pool, cfg).await.unwrap();
    assert_eq!(
        app.get_image(&admin, &img.id).await.unwrap().status,
        ciel_controller::db::image::ImageStatus::Queued
    );
    assert!(!partial.exists(), "partial upload file removed");
}
