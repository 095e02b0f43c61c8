//! Live migration as desired state: `os-migrateLive` puts the server on both hosts' desired
//! state (the source sends, the destination receives on the ports chosen for it), other
//! hosts' l2 population points at both, either host's report of the end moves the server
//! (or leaves it), and force-complete and abort reach the source. The API's refusals.

use crate::common;

use ciel_controller::app::compute::params::actions::{BlockMigration, LiveMigrate};
use ciel_controller::app::compute::params::CreateServer;
use ciel_controller::app::App;
use ciel_controller::db::compute::hosts::Host;
use ciel_proto::{HostReport, MigrationProgress, MigrationRole, MigrationStatus, VmState, VmStatus};
use common::login;
use serde_json::json;
use std::time::Duration;

async fn host(app: &App, name: &str, ip: &str) -> Host {
    common::migration_host(app, name, ip).await
}

fn running(id: &str, migration: Option<MigrationProgress>) -> VmStatus {
    VmStatus {
        id: id.into(),
        state: VmState::Running,
        boot_serial: 0,
        message: None,
        volumes: vec![],
        slots: vec![ciel_proto::DeviceSlot {
            device: "rootdisk".into(),
            slot: 4,
        }],
        migration,
        volume_migrations: vec![],
    }
}

fn live(host: Option<&str>, block: BlockMigration) -> LiveMigrate {
    LiveMigrate {
        host: host.map(str::to_owned),
        block_migration: block,
        force: false,
    }
}

#[tokio::test]
async fn live_migration_is_desired_state_on_both_hosts() {
    let (app, _dir) = common::app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    app.seed_default_flavors().await.unwrap();
    let h1 = host(&app, "h1", "192.0.2.1").await;
    let h2 = host(&app, "h2", "192.0.2.2").await;
    let img = common::raw_image(&app, &admin, "img").await;
    let req = CreateServer::try_from(common::body(
        json!({"name": "vm", "imageRef": img.id, "flavorRef": "42",
        "networks": "none", "availability_zone": "nova:h1"}),
    ))
    .unwrap();
    let s = app.create_servers(&admin, "req-1", &req).await.unwrap().remove(0);
    let id = s.id.to_string();
    let desired = |h: Host| {
        let app = app.clone();
        async move { app.host_config(&h, 0, Duration::ZERO).await.unwrap() }
    };
    let cfg = desired(h1.clone()).await;
    app.host_report(
        &h1,
        HostReport {
            generation: cfg.generation,
            vms: vec![running(&id, None)],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        app.get_server(&admin, &id).await.unwrap().vm_state.to_string(),
        "active"
    );

    // Refusals: not an admin's request shape, its own host, shared storage with a local disk.
    let e = app
        .live_migrate_server(&admin, &id, &live(Some("h1"), BlockMigration::Auto), "r")
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400, "{e}");
    let e = app
        .live_migrate_server(&admin, &id, &live(Some("h2"), BlockMigration::No), "r")
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400, "a local disk needs a block migration: {e}");
    let e = app
        .live_migrate_server(&admin, &id, &live(Some("nowhere"), BlockMigration::Auto), "r")
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400, "{e}");

    // auto: a local root disk is copied; the scheduler picks the only other host.
    app.live_migrate_server(&admin, &id, &live(None, BlockMigration::Auto), "r-lm")
        .await
        .unwrap();
    let s = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(s.task_state.map(|t| t.to_string()).as_deref(), Some("migrating"));
    let e = app
        .live_migrate_server(&admin, &id, &live(None, BlockMigration::Auto), "r")
        .await
        .unwrap_err();
    assert_eq!(e.status(), 409, "one migration at a time");
    // The moving server claims its flavor on both hosts until the migration ends.
    let used = |views: &[ciel_controller::app::compute::hosts::HostView], h: &Host| {
        let v = views.iter().find(|v| v.host.id == h.id).unwrap();
        (v.vcpus_used, v.memory_mb_used, v.disk_gb_used)
    };
    let views = app.host_views(&admin).await.unwrap();
    assert!(used(&views, &h1).0 > 0);
    assert_eq!(used(&views, &h1), used(&views, &h2), "the destination is claimed");
    let src = desired(h1.clone()).await;
    let dst = desired(h2.clone()).await;
    let out = src.vms[0].migration.clone().expect("the source sends");
    let inc = dst
        .vms
        .iter()
        .find(|v| v.id == id)
        .and_then(|v| v.migration.clone())
        .expect("the destination receives");
    assert_eq!(
        (out.role, inc.role),
        (MigrationRole::Source, MigrationRole::Destination)
    );
    assert_eq!(out.id, inc.id);
    assert!(out.block && inc.block);
    assert_eq!(
        (out.dest_addr.as_str(), out.port, out.nbd_port),
        ("192.0.2.2", 49152, 49153)
    );
    assert_eq!(inc.slots, src.vms[0].migration.as_ref().unwrap().slots);
    assert_eq!(inc.slots.len(), 1, "the layout the source reported");

    let listed = app.server_migrations(&admin, &id).await.unwrap();
    assert_eq!(listed.len(), 1);
    let mid = listed[0].id;
    app.force_complete_migration(&admin, &id, mid).await.unwrap();
    assert!(
        desired(h1.clone()).await.vms[0]
            .migration
            .as_ref()
            .unwrap()
            .force_complete
    );

    // The destination's report of its running guest ends it: the server moves.
    let done = MigrationProgress {
        id: out.id.clone(),
        status: MigrationStatus::Completed,
        ..Default::default()
    };
    app.host_report(
        &h2,
        HostReport {
            generation: dst.generation,
            vms: vec![running(&id, Some(done.clone()))],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let s = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(s.host_id.as_ref().map(|h| h.to_string()), Some(h2.id.clone()));
    assert!(s.task_state.is_none());
    assert!(desired(h1.clone()).await.vms.is_empty(), "the source lets the VM go");
    let views = app.host_views(&admin).await.unwrap();
    assert_eq!(
        used(&views, &h1),
        (0, 0, 0),
        "the source's claim ends with the migration"
    );
    let on_dest = desired(h2.clone()).await;
    assert!(on_dest.vms[0].migration.is_none(), "a plain VM on the destination");
    // The source's later report brings the figures.
    let figures = MigrationProgress {
        downtime_ms: 123,
        total_ms: 900,
        memory_total: 1 << 28,
        ..done
    };
    app.host_report(
        &h1,
        HostReport {
            generation: src.generation,
            vms: vec![VmStatus {
                state: VmState::Paused,
                ..running(&id, Some(figures))
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let all = app.list_migrations(&admin).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, "completed");
    assert_eq!((all[0].downtime_ms, all[0].total_ms), (Some(123), Some(900)));
    assert!(
        app.server_migrations(&admin, &id).await.unwrap().is_empty(),
        "none in progress"
    );
    let s = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(
        s.vm_state.to_string(),
        "active",
        "the source's paused QEMU is not the server"
    );

    // Back to h1, aborted: the server stays on h2.
    app.live_migrate_server(&admin, &id, &live(Some("h1"), BlockMigration::Yes), "r-2")
        .await
        .unwrap();
    let mid = app.server_migrations(&admin, &id).await.unwrap()[0].id;
    app.abort_migration(&admin, &id, mid).await.unwrap();
    let src = desired(h2.clone()).await;
    let m = src.vms[0].migration.clone().unwrap();
    assert!(m.abort && m.role == MigrationRole::Source);
    let cancelled = MigrationProgress {
        id: m.id.clone(),
        status: MigrationStatus::Cancelled,
        ..Default::default()
    };
    app.host_report(
        &h2,
        HostReport {
            generation: src.generation,
            vms: vec![running(&id, Some(cancelled))],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let s = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(s.host_id.as_ref().map(|h| h.to_string()), Some(h2.id.clone()));
    assert!(s.task_state.is_none());
    assert!(desired(h1.clone()).await.vms.is_empty(), "the destination lets it go");
    assert_eq!(app.list_migrations(&admin).await.unwrap()[0].status, "cancelled");
    let e = app.abort_migration(&admin, &id, mid).await.unwrap_err();
    assert_eq!(e.status(), 400, "only a migration in progress can be aborted");
}

#[tokio::test]
async fn evacuation_needs_the_host_down_and_moves_the_server() {
    let (app, _dir) = common::app().await;
    app.seed_default_flavors().await.unwrap();
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let h1 = host(&app, "h1", "192.0.2.1").await;
    let h2 = host(&app, "h2", "192.0.2.2").await;
    let img = common::raw_image(&app, &admin, "img").await;
    let req = CreateServer::try_from(common::body(
        json!({"name": "vm", "imageRef": img.id, "flavorRef": "42",
        "networks": "none", "availability_zone": "nova:h1"}),
    ))
    .unwrap();
    let s = app.create_servers(&admin, "req-1", &req).await.unwrap().remove(0);
    let id = s.id.to_string();
    let cfg = app.host_config(&h1, 0, Duration::ZERO).await.unwrap();
    app.host_report(
        &h1,
        HostReport {
            generation: cfg.generation,
            vms: vec![running(&id, None)],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let e = app.evacuate_server(&admin, &id, None, false, "r").await.unwrap_err();
    assert_eq!(e.status(), 400, "h1 still reports: {e}");
    let h = app.set_host_service(&admin, &h1.id, None, Some(true)).await.unwrap();
    assert!(h.forced_down);
    app.evacuate_server(&admin, &id, None, false, "r-ev").await.unwrap();
    let after = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(after.host_id.as_ref().map(|h| h.to_string()), Some(h2.id.clone()));
    assert_eq!(
        after.rebuild_serial,
        s.rebuild_serial + 1,
        "a file root disk is made again"
    );
    let all = app.list_migrations(&admin).await.unwrap();
    assert_eq!(
        (all[0].kind.as_str(), all[0].status.as_str()),
        ("evacuation", "accepted"),
        "until the rebuild ends"
    );
    let old = app.host_config(&h1, 0, Duration::ZERO).await.unwrap();
    assert!(old.vms.is_empty());
    assert_eq!(
        old.evacuated,
        vec![id.clone()],
        "h1 lets its copy go without the shared disks"
    );
    let new = app.host_config(&h2, 0, Duration::ZERO).await.unwrap();
    assert!(new.vms[0].adopt_root, "h2 takes the disk over");
    // Back up: scheduling there again.
    app.set_host_service(&admin, &h1.id, None, Some(false)).await.unwrap();
    app.live_migrate_server(&admin, &id, &live(None, BlockMigration::Auto), "r")
        .await
        .expect_err("rebuilding still");
    // h2 reports the rebuilt server running: the evacuation is done.
    let mut booted = running(&id, None);
    booted.boot_serial = after.boot_serial as u64;
    let cfg = app.host_config(&h2, 0, Duration::ZERO).await.unwrap();
    let report = HostReport {
        generation: cfg.generation,
        vms: vec![booted],
        ..Default::default()
    };
    app.host_report(&h2, report).await.unwrap();
    let all = app.list_migrations(&admin).await.unwrap();
    assert_eq!((all[0].kind.as_str(), all[0].status.as_str()), ("evacuation", "done"));
    assert_eq!(app.get_server(&admin, &id).await.unwrap().task_state, None);
}
