//! One task per VM: the fake hypervisor with pretend QEMU monitors (spoken to over the real
//! QMP client) shows that a VM whose QEMU stops answering QMP holds up no other VM.

use ciel_agent::fake::FakeHypervisor;
use ciel_agent::{Agent, AgentConfig};
use ciel_proto::{HostConfig, ImageRef, PowerState, VmSpec, VmState, VmStatus};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const A: &str = "0a000000-0000-4000-8000-00000000000a";
const B: &str = "0b000000-0000-4000-8000-00000000000b";

fn spec(id: &str, power: PowerState) -> VmSpec {
    VmSpec {
        id: id.into(),
        name: id[..2].into(),
        project_id: String::new(),
        vcpus: 1,
        memory_mb: 128,
        root_gb: 1,
        image: ImageRef {
            id: "img".into(),
            disk_format: "raw".into(),
            checksum: String::new(),
            size: 0,
            rbd: false,
        },
        kernel: None,
        ramdisk: None,
        cmdline: None,
        power,
        nics: vec![],
        boot_serial: 0,
        config_drive: false,
        rebuild_serial: 0,
        volumes: vec![],
        root_volume: None,
        root_volume_backend: String::new(),
        root_backend: "file".into(),
        migration: None,
        adopt_root: false,
    }
}

fn config(generation: u64, vms: Vec<VmSpec>) -> HostConfig {
    HostConfig {
        host_id: "h1".into(),
        generation,
        vms,
        ..Default::default()
    }
}

fn state_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ciel-vmtasks-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An agent (never registered: the test drives its reconcile) over a fake hypervisor whose
/// VMs have pretend QEMU monitors, with `timeout` per QMP command.
fn agent(dir: &std::path::Path, timeout: Duration) -> (Agent, Arc<FakeHypervisor>) {
    let fake = Arc::new(FakeHypervisor::with_qmp(dir.join("qmp"), timeout));
    let agent = Agent::new(
        AgentConfig {
            controller: "http://127.0.0.1:9".into(),
            join_token: "unused".into(),
            hostname: "hv1".into(),
            underlay_ip: None,
            underlay_interface: None,
            provider_interfaces: vec![],
            state_dir: dir.join("agent"),
            listen: "127.0.0.1:0".parse().unwrap(),
            advertise_url: None,
            storage: Default::default(),
            images_type: "file".into(),
        },
        fake.clone(),
    )
    .unwrap();
    (agent, fake)
}

fn status<'a>(vms: &'a [VmStatus], id: &str) -> &'a VmStatus {
    vms.iter()
        .find(|v| v.id == id)
        .unwrap_or_else(|| panic!("{id} not reported: {vms:?}"))
}

/// VM A's QEMU stops answering QMP (its task waits for the 10 s QMP timeout); VM B, added
/// afterwards on the same host, boots at once, and B's reboot is not held up either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_qemu_does_not_delay_another_vms_boot() {
    let dir = state_dir("hung");
    let (agent, fake) = agent(&dir, ciel_agent::qmp::TIMEOUT);
    let report = agent
        .reconcile(&config(1, vec![spec(A, PowerState::Running)]), None)
        .await;
    assert_eq!(status(&report.vms, A).state, VmState::Running);

    fake.qemu(A).unwrap().hang(true);
    // A is to be paused (a QMP command its QEMU never answers); B is new.
    let started = Instant::now();
    let cfg = config(2, vec![spec(A, PowerState::Paused), spec(B, PowerState::Running)]);
    let report = agent.reconcile(&cfg, None).await;
    let took = started.elapsed();
    assert_eq!(status(&report.vms, B).state, VmState::Running, "{report:?}");
    assert_eq!(status(&report.vms, A).state, VmState::Building, "A is still converging");
    assert_eq!(report.generation, 2);
    assert!(took < Duration::from_secs(3), "B waited for A: {took:?}");
    assert!(fake.qemu(B).unwrap().is_running());

    // While A is still stuck, B is rebooted: a QMP system_reset on its own connection.
    let mut b = spec(B, PowerState::Running);
    b.boot_serial = 1;
    let cfg = config(3, vec![spec(A, PowerState::Paused), b]);
    let report = agent.reconcile(&cfg, None).await;
    let b_status = status(&report.vms, B);
    assert_eq!((b_status.state, b_status.boot_serial), (VmState::Running, 1));
    assert!(fake.qemu(B).unwrap().commands().contains(&"system_reset".to_string()));
    assert!(started.elapsed() < Duration::from_secs(6), "{:?}", started.elapsed());
    std::fs::remove_dir_all(&dir).ok();
}

/// A VM's task reports later what it observes later: once A's QMP command times out, the
/// agent's change counter moves and A is in ERROR with the timeout as its message; it runs
/// again once its QEMU answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_that_converges_late_is_reported_when_it_does() {
    let dir = state_dir("late");
    let (agent, fake) = agent(&dir, Duration::from_millis(1500));
    let cfg = config(1, vec![spec(A, PowerState::Running)]);
    agent.reconcile(&cfg, None).await;
    fake.qemu(A).unwrap().hang(true);
    let mut changes = agent.vm_changes();
    changes.borrow_and_update();
    let report = agent.reconcile(&cfg, None).await;
    // The same spec: what was observed for it stands until the task says otherwise.
    assert_eq!(status(&report.vms, A).state, VmState::Running);
    tokio::time::timeout(Duration::from_secs(5), changes.changed())
        .await
        .expect("a change once A's QMP timed out")
        .unwrap();
    let report = agent.reconcile(&cfg, None).await;
    let a = status(&report.vms, A);
    assert_eq!(a.state, VmState::Error);
    assert!(
        a.message.as_deref().unwrap_or_default().contains("no answer within"),
        "{a:?}"
    );
    fake.qemu(A).unwrap().hang(false);
    let mut state = VmState::Error;
    for _ in 0..50 {
        state = status(&agent.reconcile(&cfg, None).await.vms, A).state;
        if state == VmState::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, VmState::Running);
    std::fs::remove_dir_all(&dir).ok();
}

/// A VM no longer desired is torn down by its task (its QEMU told to quit), which then ends;
/// the VM is not reported any more, and the other VM is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_vm_is_torn_down_and_its_task_ends() {
    let dir = state_dir("removed");
    let (agent, fake) = agent(&dir, Duration::from_secs(2));
    let both = config(1, vec![spec(A, PowerState::Running), spec(B, PowerState::Running)]);
    let report = agent.reconcile(&both, None).await;
    assert!(report.vms.iter().all(|v| v.state == VmState::Running), "{report:?}");
    let b_qemu = fake.qemu(B).unwrap();
    let only_a = config(2, vec![spec(A, PowerState::Running)]);
    let report = agent.reconcile(&only_a, None).await;
    assert_eq!(report.vms.len(), 1);
    for _ in 0..100 {
        if !agent.has_vm_task(B) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!agent.has_vm_task(B), "B's task ended");
    assert!(agent.has_vm_task(A));
    assert!(b_qemu.has_quit());
    assert!(fake.qemu(B).is_none());
    assert!(fake.qemu(A).unwrap().is_running());
    // B may come back: a new task starts it again.
    let report = agent.reconcile(&config(3, both.vms.clone()), None).await;
    assert_eq!(status(&report.vms, B).state, VmState::Running);
    std::fs::remove_dir_all(&dir).ok();
}
