//! Cold migration as desired state, steered by the hosts' reports: `migrate` gives only the
//! source the migration (stop, serve the disk); its `Ready` gives the destination the
//! migration (copy, start); the destination's `Completed` moves the server (VERIFY_RESIZE)
//! while the source keeps its stopped copy; revert moves it back (the destination lets its
//! copy go without its shared disk), confirm lets the source's copy go. A failure leaves the
//! server where it was. The API's refusals, and the records `/os-migrations` lists.

use crate::common;

use ciel_controller::app::compute::status::{api_status, ApiStatus};
use ciel_controller::app::identity::caller::Caller;
use ciel_controller::app::App;
use ciel_controller::db::compute::hosts::Host;
use ciel_proto::{HostConfig, HostReport, MigrationProgress, MigrationRole, MigrationStatus, VmState, VmStatus};
use common::login;
use std::time::Duration;

fn vm(id: &str, state: VmState, boot_serial: u64, p: Option<(&str, MigrationStatus)>) -> VmStatus {
    VmStatus {
        id: id.into(),
        state,
        boot_serial,
        message: None,
        volumes: vec![],
        slots: vec![],
        migration: p.map(|(id, status)| MigrationProgress {
            id: id.into(),
            status,
            ..Default::default()
        }),
        volume_migrations: vec![],
    }
}

async fn desired(app: &App, h: &Host) -> HostConfig {
    app.host_config(h, 0, Duration::ZERO).await.unwrap()
}

/// The server's API status and host.
async fn status(app: &App, admin: &Caller, id: &str) -> (ApiStatus, String) {
    let s = app.get_server(admin, id).await.unwrap();
    (api_status(&s), s.host_id.map(|h| h.to_string()).unwrap_or_default())
}

async fn report(app: &App, h: &Host, vms: Vec<VmStatus>) {
    let generation = desired(app, h).await.generation;
    app.host_report(
        h,
        HostReport {
            generation,
            vms,
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn cold_migration_moves_through_the_hosts_reports_and_confirm_or_revert() {
    let (app, _dir) = common::app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    app.seed_default_flavors().await.unwrap();
    let h1 = common::migration_host(&app, "h1", "192.0.2.1").await;
    let h2 = common::migration_host(&app, "h2", "192.0.2.2").await;
    let id = common::server_on(&app, &admin, "h1").await;
    report(&app, &h1, vec![vm(&id, VmState::Running, 0, None)]).await;
    assert_eq!(status(&app, &admin, &id).await, (ApiStatus::Active, h1.id.clone()));

    // Refusals: to its own host, to an unknown one.
    let e = app.cold_migrate_server(&admin, &id, Some("h1"), "r").await.unwrap_err();
    assert_eq!(e.status(), 400, "{e}");
    let e = app
        .cold_migrate_server(&admin, &id, Some("nowhere"), "r")
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400, "{e}");

    // 1. Only the source has it: stop and serve the file root disk.
    app.cold_migrate_server(&admin, &id, Some("h2"), "r-m").await.unwrap();
    assert_eq!(status(&app, &admin, &id).await, (ApiStatus::Resize, h1.id.clone()));
    let e = app.cold_migrate_server(&admin, &id, None, "r").await.unwrap_err();
    assert_eq!(e.status(), 409, "one migration at a time");
    let out = desired(&app, &h1).await.vms[0]
        .migration
        .clone()
        .expect("the source stops and serves");
    assert!(out.cold && out.block && out.role == MigrationRole::Source);
    assert_eq!((out.source_addr.as_str(), out.port), ("192.0.2.1", 49152));
    assert!(
        desired(&app, &h2).await.vms.is_empty(),
        "the destination waits for the source"
    );
    // The source's running VM does not end the task before it stopped.
    report(&app, &h1, vec![vm(&id, VmState::Running, 0, None)]).await;
    assert_eq!(status(&app, &admin, &id).await.0, ApiStatus::Resize);

    // 2. The source is ready: the destination copies from it.
    report(
        &app,
        &h1,
        vec![vm(&id, VmState::Stopped, 0, Some((&out.id, MigrationStatus::Ready)))],
    )
    .await;
    let inc = desired(&app, &h2).await.vms[0]
        .migration
        .clone()
        .expect("the destination copies");
    assert!(inc.cold && inc.role == MigrationRole::Destination);
    assert_eq!(
        (inc.source_addr.as_str(), inc.port, inc.id.as_str()),
        ("192.0.2.1", 49152, out.id.as_str())
    );

    // 3. The destination runs it: VERIFY_RESIZE there; the source keeps a stopped copy.
    report(
        &app,
        &h2,
        vec![vm(
            &id,
            VmState::Running,
            0,
            Some((&out.id, MigrationStatus::Completed)),
        )],
    )
    .await;
    assert_eq!(
        status(&app, &admin, &id).await,
        (ApiStatus::VerifyResize, h2.id.clone())
    );
    let src = desired(&app, &h1).await;
    let held = src.vms[0].migration.clone().expect("the source holds its copy");
    assert_eq!((held.role, held.port), (MigrationRole::Source, 0), "no longer served");
    let dst = desired(&app, &h2).await;
    assert!(dst.vms[0].migration.is_none(), "a plain VM on the destination");
    assert!(dst.vms[0].adopt_root, "the destination owns the root disk");
    // The destination's later reports keep it waiting for the user.
    report(&app, &h2, vec![vm(&id, VmState::Running, 0, None)]).await;
    assert_eq!(status(&app, &admin, &id).await.0, ApiStatus::VerifyResize);
    // Until confirm or revert, the server claims its flavor on both hosts.
    let views = app.host_views(&admin).await.unwrap();
    let vcpus = |h: &str| views.iter().find(|v| v.host.id == h).unwrap().vcpus_used;
    assert!(vcpus(&h1.id) > 0, "the source is kept for a revert");
    assert_eq!(vcpus(&h1.id), vcpus(&h2.id));

    // 4. Revert: back on h1, which starts its copy and takes its disks back; h2 lets go.
    app.revert_resize(&admin, &id, "r-rv").await.unwrap();
    assert_eq!(
        status(&app, &admin, &id).await,
        (ApiStatus::RevertResize, h1.id.clone())
    );
    let src = desired(&app, &h1).await;
    assert!(src.vms[0].migration.is_none() && src.vms[0].adopt_root);
    let dst = desired(&app, &h2).await;
    assert!(dst.vms.is_empty());
    assert!(dst.evacuated.contains(&id), "h2 keeps the shared disk");
    let serial = src.vms[0].boot_serial;
    report(&app, &h1, vec![vm(&id, VmState::Running, serial, None)]).await;
    assert_eq!(status(&app, &admin, &id).await, (ApiStatus::Active, h1.id.clone()));

    // 5. Again, the scheduler's choice, then confirm: h1 lets its copy go.
    app.cold_migrate_server(&admin, &id, None, "r-m2").await.unwrap();
    let out = desired(&app, &h1).await.vms[0].migration.clone().unwrap();
    report(
        &app,
        &h1,
        vec![vm(&id, VmState::Stopped, 0, Some((&out.id, MigrationStatus::Ready)))],
    )
    .await;
    report(
        &app,
        &h2,
        vec![vm(
            &id,
            VmState::Running,
            0,
            Some((&out.id, MigrationStatus::Completed)),
        )],
    )
    .await;
    app.confirm_resize(&admin, &id, "r-cf").await.unwrap();
    assert_eq!(status(&app, &admin, &id).await, (ApiStatus::Active, h2.id.clone()));
    let views = app.host_views(&admin).await.unwrap();
    let vcpus = |h: &str| views.iter().find(|v| v.host.id == h).unwrap().vcpus_used;
    assert_eq!(vcpus(&h1.id), 0, "confirm frees the source");
    let src = desired(&app, &h1).await;
    assert!(src.vms.is_empty());
    assert!(src.evacuated.contains(&id), "h1 keeps the shared disk");
    assert!(desired(&app, &h2).await.vms[0].migration.is_none());

    // 6. A failure: the server stays on h2, which starts it again.
    app.cold_migrate_server(&admin, &id, Some("h1"), "r-m3").await.unwrap();
    let out = desired(&app, &h2).await.vms[0].migration.clone().unwrap();
    report(
        &app,
        &h2,
        vec![vm(&id, VmState::Stopped, 0, Some((&out.id, MigrationStatus::Ready)))],
    )
    .await;
    report(
        &app,
        &h1,
        vec![vm(&id, VmState::Error, 0, Some((&out.id, MigrationStatus::Failed)))],
    )
    .await;
    let s = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(
        (api_status(&s), s.host_id.map(|h| h.to_string())),
        (ApiStatus::Active, Some(h2.id.clone()))
    );
    assert!(s.old_flavor_id.is_none());
    assert!(desired(&app, &h2).await.vms[0].migration.is_none());
    assert!(desired(&app, &h1).await.vms.is_empty());

    let all: Vec<(String, String)> = app
        .list_migrations(&admin)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.kind, m.status))
        .collect();
    let want = [
        ("migration", "error"),
        ("migration", "confirmed"),
        ("migration", "reverted"),
    ];
    assert_eq!(
        all,
        want.map(|(k, s)| (k.to_string(), s.to_string())).to_vec(),
        "newest first"
    );
}

#[tokio::test]
async fn a_resize_on_its_host_is_listed_and_ends_with_confirm() {
    let (app, _dir) = common::app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    app.seed_default_flavors().await.unwrap();
    let h1 = common::migration_host(&app, "h1", "192.0.2.1").await;
    let id = common::server_on(&app, &admin, "h1").await;
    report(&app, &h1, vec![vm(&id, VmState::Running, 0, None)]).await;
    let req = ciel_controller::app::compute::params::actions::Resize {
        flavor_ref: "84".into(),
    };
    app.resize_server(&admin, &id, &req, "r-rs").await.unwrap();
    let cfg = desired(&app, &h1).await;
    assert!(cfg.vms[0].migration.is_none(), "nothing moves");
    report(&app, &h1, vec![vm(&id, VmState::Running, cfg.vms[0].boot_serial, None)]).await;
    assert_eq!(
        api_status(&app.get_server(&admin, &id).await.unwrap()),
        ApiStatus::VerifyResize
    );
    let m = app.list_migrations(&admin).await.unwrap();
    assert_eq!((m[0].kind.as_str(), m[0].status.as_str()), ("resize", "finished"));
    assert_eq!(m[0].new_flavor_id.as_deref(), Some("84"));
    app.confirm_resize(&admin, &id, "r-cf").await.unwrap();
    assert_eq!(app.list_migrations(&admin).await.unwrap()[0].status, "confirmed");
    assert!(desired(&app, &h1).await.evacuated.is_empty());
}
