//! Suspend and resume as desired state: `suspend` asks the host for a suspended VM (its
//! state saved, no QEMU), the host's report makes the server SUSPENDED (power state 4, as
//! Nova shows a managed-saved libvirt guest); `resume` asks for it running again. The
//! actions Nova refuses on a suspended server (pause, stop, soft reboot, live migration,
//! resize) answer 409 with Nova's text; a hard reboot is allowed and boots it afresh.

use crate::common;

use ciel_controller::app::compute::actions::PowerAction;
use ciel_controller::app::compute::params::actions::{BlockMigration, LiveMigrate, RebootType};
use ciel_controller::app::compute::status::api_status;
use ciel_controller::app::App;
use ciel_controller::db::compute::hosts::Host;
use ciel_proto::{HostReport, PowerState, VmState, VmStatus};
use common::login;
use std::time::Duration;

fn vm(id: &str, state: VmState, boot_serial: u64) -> VmStatus {
    VmStatus {
        id: id.into(),
        state,
        boot_serial,
        message: None,
        volumes: vec![],
        slots: vec![],
        migration: None,
        volume_migrations: vec![],
    }
}

async fn report(app: &App, h: &Host, vms: Vec<VmStatus>) {
    let cfg = app.host_config(h, 0, Duration::ZERO).await.unwrap();
    app.host_report(
        h,
        HostReport {
            generation: cfg.generation,
            vms,
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

async fn desired(app: &App, h: &Host) -> ciel_proto::VmSpec {
    app.host_config(h, 0, Duration::ZERO).await.unwrap().vms.remove(0)
}

#[tokio::test]
async fn suspend_and_resume_are_desired_state() {
    let (app, _dir) = common::app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    app.seed_default_flavors().await.unwrap();
    let h1 = common::migration_host(&app, "h1", "192.0.2.1").await;
    let _h2 = common::migration_host(&app, "h2", "192.0.2.2").await;
    let id = common::server_on(&app, &admin, "h1").await;
    report(&app, &h1, vec![vm(&id, VmState::Running, 0)]).await;
    let conflict =
        |action: &str, state: &str| format!("Cannot '{action}' instance {id} while it is in vm_state {state}");

    // Only a suspended server resumes.
    let e = app
        .server_power_action(&admin, &id, PowerAction::Resume, "r")
        .await
        .unwrap_err();
    assert_eq!(e.status(), 409);
    assert_eq!(e.to_string(), conflict("resume", "active"));

    app.server_power_action(&admin, &id, PowerAction::Suspend, "req-suspend")
        .await
        .unwrap();
    let s = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(s.task_state.map(|t| t.to_string()).as_deref(), Some("suspending"));
    assert_eq!(desired(&app, &h1).await.power, PowerState::Suspended);
    // Still running on the host: the task goes on.
    report(&app, &h1, vec![vm(&id, VmState::Running, 0)]).await;
    let s = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(s.task_state.map(|t| t.to_string()).as_deref(), Some("suspending"));
    report(&app, &h1, vec![vm(&id, VmState::Suspended, 0)]).await;
    let s = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(
        (s.vm_state.to_string(), s.task_state, s.power_state),
        ("suspended".to_string(), None, 4)
    );
    assert_eq!(api_status(&s).as_str(), "SUSPENDED");
    let actions = app.instance_actions(&admin, &id, false).await.unwrap();
    assert!(actions
        .iter()
        .any(|a| a.action == "suspend" && a.request_id == "req-suspend"));

    // What Nova refuses on a suspended server.
    for (action, name) in [
        (PowerAction::Suspend, "suspend"),
        (PowerAction::Pause, "pause"),
        (PowerAction::Unpause, "unpause"),
        (PowerAction::Stop, "os-stop"),
        (PowerAction::Start, "os-start"),
        (PowerAction::Reboot(RebootType::Soft), "reboot"),
    ] {
        let e = app.server_power_action(&admin, &id, action, "r").await.unwrap_err();
        assert_eq!(e.status(), 409, "{name}: {e}");
        assert_eq!(e.to_string(), conflict(name, "suspended"));
    }
    let live = LiveMigrate {
        host: None,
        block_migration: BlockMigration::Auto,
        force: false,
    };
    let e = app.live_migrate_server(&admin, &id, &live, "r").await.unwrap_err();
    assert_eq!(e.status(), 409, "{e}");
    assert_eq!(e.to_string(), conflict("os-migrateLive", "suspended"));
    let e = app.cold_migrate_server(&admin, &id, None, "r").await.unwrap_err();
    assert_eq!(e.status(), 409, "{e}");

    // Resume: running again on the same host, same boot.
    app.server_power_action(&admin, &id, PowerAction::Resume, "req-resume")
        .await
        .unwrap();
    let s = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(s.task_state.map(|t| t.to_string()).as_deref(), Some("resuming"));
    let spec = desired(&app, &h1).await;
    assert_eq!((spec.power, spec.boot_serial), (PowerState::Running, 0));
    report(&app, &h1, vec![vm(&id, VmState::Running, 0)]).await;
    let s = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(
        (s.vm_state.to_string(), s.task_state, s.power_state),
        ("active".to_string(), None, 1)
    );

    // A hard reboot of a suspended server boots it afresh (a new boot serial).
    app.server_power_action(&admin, &id, PowerAction::Suspend, "r")
        .await
        .unwrap();
    report(&app, &h1, vec![vm(&id, VmState::Suspended, 0)]).await;
    app.server_power_action(&admin, &id, PowerAction::Reboot(RebootType::Hard), "r")
        .await
        .unwrap();
    let spec = desired(&app, &h1).await;
    assert_eq!((spec.power, spec.boot_serial), (PowerState::Running, 1));
    report(&app, &h1, vec![vm(&id, VmState::Running, 1)]).await;
    let s = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(s.vm_state.to_string(), "active");
}
