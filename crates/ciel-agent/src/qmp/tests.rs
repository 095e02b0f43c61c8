//! The client against fake QMP servers speaking from a script.

use super::commands::*;
use super::*;
use tokio::net::UnixListener;

/// One step of a fake server's script.
enum Step {
    /// Send this message.
    Send(Value),
    /// Read a command, check its name (and arguments, when given), remember its id.
    Recv(&'static str, Option<Value>),
    /// Answer the last command read with this `return` value.
    Return(Value),
    /// Answer the last command read with this error.
    Error(&'static str, &'static str),
    /// Close the connection.
    Close,
}
use Step::*;

fn greeting() -> Step {
    Send(json!({"QMP": {"version": {"qemu": {"major": 9, "minor": 0, "micro": 0}}, "capabilities": ["oob"]}}))
}

/// A socket served by one connection that follows `script`, then stays open and silent.
fn scripted(name: &str, script: Vec<Step>) -> (PathBuf, tokio::task::JoinHandle<()>) {
    let dir = std::env::temp_dir().join(format!("ciel-qmp-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("qmp.sock");
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock).unwrap();
    let server = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let (r, mut w) = s.into_split();
        let mut lines = BufReader::new(r).lines();
        let mut id = Value::Null;
        for step in script {
            let out = match step {
                Send(v) => v,
                Recv(name, args) => {
                    let line = lines.next_line().await.unwrap().expect("a command");
                    let cmd: Value = serde_json::from_str(&line).unwrap();
                    assert_eq!(cmd["execute"], name, "{cmd}");
                    if let Some(a) = args {
                        assert_eq!(cmd["arguments"], a, "{cmd}");
                    }
                    id = cmd.get("id").cloned().unwrap_or(Value::Null);
                    continue;
                }
                Return(v) => json!({"return": v, "id": id}),
                Error(class, desc) => json!({"error": {"class": class, "desc": desc}, "id": id}),
                Close => return,
            };
            w.write_all(format!("{out}\n").as_bytes()).await.unwrap();
        }
        std::future::pending::<()>().await;
    });
    (sock, server)
}

#[tokio::test]
async fn negotiates_capabilities_and_runs_typed_commands() {
    let (sock, _server) = scripted(
        "typed",
        vec![
            greeting(),
            Recv("qmp_capabilities", None),
            Return(json!({})),
            Recv("query-status", None),
            Return(json!({"status": "paused", "running": false, "singlestep": false})),
            Recv(
                "blockdev-add",
                Some(json!({"driver": "qcow2", "node-name": "v1", "read-only": false,
                    "file": {"driver": "file", "filename": "/v/1", "read-only": false}})),
            ),
            Return(json!({})),
            Recv(
                "device_add",
                Some(
                    json!({"driver": "virtio-net-pci", "id": "nic1", "netdev": "net1", "mac": "fa:16:3e:00:00:01", "host_mtu": 1450, "addr": "0x5"}),
                ),
            ),
            Return(json!({})),
            Recv("block_resize", Some(json!({"node-name": "v1", "size": 1073741824u64}))),
            Return(json!({})),
        ],
    );
    let qmp = Qmp::connect(&sock).await.unwrap();
    let status = qmp.execute(&QueryStatus {}).await.unwrap();
    assert_eq!(
        status,
        StatusInfo {
            running: false,
            status: RunState::Paused
        }
    );
    let add = BlockdevAdd {
        driver: "qcow2".into(),
        node_name: "v1".into(),
        read_only: false,
        file: BlockdevFile::File {
            filename: "/v/1".into(),
            read_only: false,
        },
    };
    assert_eq!(qmp.execute(&add).await.unwrap(), Empty {});
    let nic = DeviceAdd::VirtioNet {
        id: "nic1".into(),
        netdev: "net1".into(),
        mac: "fa:16:3e:00:00:01".into(),
        host_mtu: 1450,
        addr: Some("0x5".into()),
    };
    qmp.execute(&nic).await.unwrap();
    qmp.execute(&BlockResize {
        node_name: "v1".into(),
        size: 1 << 30,
    })
    .await
    .unwrap();
    assert!(!qmp.is_closed());
}

#[tokio::test]
async fn an_error_reply_is_a_typed_error() {
    let (sock, _server) = scripted(
        "error",
        vec![
            greeting(),
            Recv("qmp_capabilities", None),
            Return(json!({})),
            Recv("device_del", Some(json!({"id": "d1"}))),
            Error("DeviceNotFound", "Device 'd1' not found"),
        ],
    );
    let qmp = Qmp::connect(&sock).await.unwrap();
    let err = qmp.execute(&DeviceDel { id: "d1".into() }).await.unwrap_err();
    match &err {
        QmpError::Command { command, class, desc } => {
            assert_eq!(*command, "device_del");
            assert_eq!(*class, ErrorClass::DeviceNotFound);
            assert_eq!(desc, "Device 'd1' not found");
        }
        other => panic!("not a command error: {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "QMP device_del failed: Device 'd1' not found (DeviceNotFound)"
    );
}

#[tokio::test]
async fn events_arrive_while_a_command_waits() {
    let (sock, _server) = scripted(
        "events",
        vec![
            greeting(),
            Recv("qmp_capabilities", None),
            // An event during negotiation is skipped.
            Send(json!({"event": "RESUME", "timestamp": {}})),
            Return(json!({})),
            Recv("device_del", Some(json!({"id": "d1"}))),
            Send(
                json!({"event": "DEVICE_DELETED", "data": {"device": "d1", "path": "/machine/peripheral/d1"}, "timestamp": {}}),
            ),
            Send(json!({"event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}, "timestamp": {}})),
            Send(json!({"event": "BLOCK_JOB_READY", "data": {"device": "x"}, "timestamp": {}})),
            Return(json!({})),
        ],
    );
    let qmp = Qmp::connect(&sock).await.unwrap();
    let mut events = qmp.events();
    qmp.execute(&DeviceDel { id: "d1".into() }).await.unwrap();
    assert_eq!(
        events.recv().await.unwrap(),
        Event::DeviceDeleted {
            device: Some("d1".into()),
            path: "/machine/peripheral/d1".into()
        }
    );
    assert_eq!(
        events.recv().await.unwrap(),
        Event::Shutdown {
            guest: true,
            reason: "guest-shutdown".into()
        }
    );
    let other = events.recv().await.unwrap();
    assert_eq!(other.name(), "BLOCK_JOB_READY");
}

#[tokio::test]
async fn a_silent_server_times_out_and_late_replies_go_nowhere() {
    let (sock, _server) = scripted(
        "silent",
        vec![
            greeting(),
            Recv("qmp_capabilities", None),
            Return(json!({})),
            Recv("query-status", None),
            // no answer in time; then a late one, then the answer to the next command
            Recv("cont", None),
            Send(json!({"return": {"status": "running", "running": true}, "id": 1})),
            Return(json!({})),
        ],
    );
    let qmp = Qmp::connect_with_timeout(&sock, Duration::from_millis(300))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let err = qmp.execute(&QueryStatus {}).await.unwrap_err();
    assert!(
        matches!(
            err,
            QmpError::Timeout {
                command: "query-status",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // The late reply to query-status is not taken for cont's.
    assert_eq!(qmp.execute(&Cont {}).await.unwrap(), Empty {});
}

#[tokio::test]
async fn a_server_that_never_greets_times_out() {
    let (sock, _server) = scripted("mute", vec![]);
    let err = Qmp::connect_with_timeout(&sock, Duration::from_millis(200))
        .await
        .err()
        .expect("no connection");
    assert!(matches!(err, QmpError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn a_closed_connection_fails_pending_and_later_commands() {
    let (sock, _server) = scripted(
        "closed",
        vec![
            greeting(),
            Recv("qmp_capabilities", None),
            Return(json!({})),
            Recv("quit", None),
            Close,
        ],
    );
    let qmp = Qmp::connect(&sock).await.unwrap();
    let err = qmp.execute(&Quit {}).await.unwrap_err();
    assert!(matches!(err, QmpError::Closed { command: "quit" }), "{err:?}");
    assert!(qmp.is_closed());
    let err = qmp.execute(&QueryStatus {}).await.unwrap_err();
    assert!(matches!(err, QmpError::Closed { .. }), "{err:?}");
}

#[tokio::test]
async fn a_missing_socket_is_an_io_error() {
    let err = Qmp::connect(Path::new("/nonexistent/ciel/qmp.sock"))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, QmpError::Io { .. }), "{err:?}");
}

/// The pretend QEMU of the fake hypervisor: state, events, and hanging on request.
#[tokio::test]
async fn the_fake_qemu_speaks_qmp_and_can_hang() {
    let dir = std::env::temp_dir().join(format!("ciel-qmp-fakeqemu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fake = fake::FakeQemu::spawn(&dir.join("qmp.sock"), true).unwrap();
    let qmp = Qmp::connect_with_timeout(fake.socket(), Duration::from_millis(300))
        .await
        .unwrap();
    let mut events = qmp.events();
    assert!(!qmp.execute(&QueryStatus {}).await.unwrap().running);
    qmp.execute(&Cont {}).await.unwrap();
    assert_eq!(events.recv().await.unwrap(), Event::Resume);
    assert!(fake.is_running());
    let err = qmp.execute(&Stop {}).await;
    assert!(err.is_ok());
    fake.hang(true);
    let err = qmp.execute(&QueryStatus {}).await.unwrap_err();
    assert!(matches!(err, QmpError::Timeout { .. }), "{err:?}");
    fake.hang(false);
    let err = qmp.execute(&SystemPowerdown {}).await;
    assert!(err.is_ok());
    assert_eq!(
        fake.commands(),
        [
            "qmp_capabilities",
            "query-status",
            "cont",
            "stop",
            "query-status",
            "system_powerdown"
        ]
    );
    std::fs::remove_dir_all(&dir).ok();
}
