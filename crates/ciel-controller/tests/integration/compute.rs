//! Compute API domain logic: flavors (visibility, access, extra specs), key pairs, and the
//! hosts' share of shared (RBD) volumes.

use crate::common;

use ciel_controller::app::compute::flavors::Visibility;
use ciel_controller::app::compute::resource_params::{CreateFlavor, CreateKeypair, ExtraSpecs, FlavorAccessAction};
use common::{body, login, params};
use serde_json::json;

#[tokio::test]
async fn flavors_private_access_and_extra_specs() {
    let (app, _dir) = common::app().await;
    app.seed_default_flavors().await.unwrap();
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let p = app.create_project(&admin, params(json!({"name": "pa"}))).await.unwrap();
    let u = app
        .create_user(&admin, params(json!({"name": "ua", "password": "pw"})))
        .await
        .unwrap();
    common::grant_user_project(&app, &admin, &u.id, &p.id, "member").await;
    let (_, member) = login(&app, "ua", "pw", Some("pa")).await.unwrap();

    let public = app.list_flavors(&member, Visibility::All).await.unwrap();
    assert!(public.iter().any(|f| f.name == "m1.nano" && f.ram == 128));
    let flavor = |v| CreateFlavor::try_from(body(v));
    let e = app
        .create_flavor(
            &member,
            flavor(json!({"name": "x", "ram": 1, "vcpus": 1, "disk": 0})).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403, "members cannot create flavors");
    for bad in [
        json!({"name": "x", "ram": 0, "vcpus": 1, "disk": 0}),
        json!({"name": "x", "ram": 64, "vcpus": "many", "disk": 0}),
        json!({"name": " x", "ram": 64, "vcpus": 1, "disk": 0}),
        json!({"name": "x", "ram": 64, "vcpus": 1}),
    ] {
        assert_eq!(flavor(bad.clone()).unwrap_err().status(), 400, "{bad}");
    }
    let dup = json!({"name": "m1.nano", "ram": 64, "vcpus": 1, "disk": 0});
    let dup = flavor(dup).unwrap();
    assert_eq!(app.create_flavor(&admin, dup).await.unwrap_err().status(), 409);

    let private = app
        .create_flavor(
            &admin,
            flavor(json!({"name": "secret", "ram": 64, "vcpus": 1, "disk": 0, "os-flavor-access:is_public": false}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(app.get_flavor(&member, &private.id).await.unwrap_err().status(), 404);
    let admin_default = app.list_flavors(&admin, Visibility::Public).await.unwrap();
    assert!(
        !admin_default.iter().any(|f| f.id == private.id),
        "is_public defaults to true"
    );
    let add = FlavorAccessAction::Add {
        tenant: p.id.to_string(),
    };
    app.change_flavor_access(&admin, &private.id, add.clone())
        .await
        .unwrap();
    let again = app
        .change_flavor_access(&admin, &private.id, add.clone())
        .await
        .unwrap_err();
    assert_eq!(again.status(), 409);
    assert!(app
        .list_flavors(&member, Visibility::Public)
        .await
        .unwrap()
        .iter()
        .any(|f| f.id == private.id));
    let e = app.change_flavor_access(&admin, "1", add).await.unwrap_err();
    assert_eq!(e.status(), 409, "public flavors have no access list");

    let specs = ExtraSpecs::try_from(body(json!({"hw:cpu_policy": "shared", "n": 4}))).unwrap();
    let set = app.set_flavor_extra_specs(&admin, &private.id, specs).await.unwrap();
    assert_eq!(set.get("n").map(String::as_str), Some("4"));
    let bad = ExtraSpecs::try_from(body(json!({"bad/key": "v"})));
    assert_eq!(bad.unwrap_err().status(), 400);
    assert_eq!(app.flavor_extra_specs(&member, &private.id).await.unwrap().len(), 2);
    let e = app
        .delete_flavor_extra_spec(&admin, &private.id, "absent")
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
    app.delete_flavor(&admin, &private.id).await.unwrap();
    assert_eq!(app.get_flavor(&admin, &private.id).await.unwrap_err().status(), 404);
}

#[tokio::test]
async fn keypairs_are_per_user_validated_and_fingerprinted() {
    let (app, dir) = common::app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    // A real key and the fingerprint ssh-keygen computes for it.
    let path = dir.0.join("k");
    let ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(ok.success());
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    let out = std::process::Command::new("ssh-keygen")
        .args(["-l", "-E", "md5", "-f"])
        .arg(path.with_extension("pub"))
        .output()
        .unwrap();
    let expected = String::from_utf8(out.stdout).unwrap();
    let keypair = |v| CreateKeypair::try_from(body(v));
    let (k, private) = app
        .create_keypair(&admin, keypair(json!({"name": "mine", "public_key": public})).unwrap())
        .await
        .unwrap();
    assert!(private.is_none());
    assert!(
        expected.contains(&format!("MD5:{}", k.fingerprint)),
        "{expected} vs {}",
        k.fingerprint
    );
    let dup = json!({"name": "mine", "public_key": public});
    let dup = keypair(dup).unwrap();
    assert_eq!(app.create_keypair(&admin, dup).await.unwrap_err().status(), 409);
    for bad in [
        json!({"name": "bad#name", "public_key": public}),
        json!({"name": "", "public_key": public}),
        json!({"name": "x", "public_key": public, "type": "pgp"}),
    ] {
        assert_eq!(keypair(bad.clone()).unwrap_err().status(), 400, "{bad}");
    }
    let garbage = keypair(json!({"name": "x", "public_key": "ssh-rsa garbage"})).unwrap();
    assert_eq!(app.create_keypair(&admin, garbage).await.unwrap_err().status(), 400);
    // Generated: the private key comes back once and matches the stored public key.
    let (g, private) = app
        .create_keypair(&admin, keypair(json!({"name": "gen"})).unwrap())
        .await
        .unwrap();
    let private = private.expect("a generated key returns its private half");
    assert!(private.contains("PRIVATE KEY"));
    assert!(g.public_key.starts_with("ssh-rsa "));
    assert_eq!(app.list_keypairs(&admin, None).await.unwrap().len(), 2);
    app.delete_keypair(&admin, "gen", None).await.unwrap();
    assert_eq!(app.delete_keypair(&admin, "gen", None).await.unwrap_err().status(), 404);
}

/// A volume on a shared backend (RBD) has one owner among the hosts that reach it: only the
/// owner's desired state names it, and its deletion is named explicitly (no host removes
/// what it merely does not recognise in the pool); a deletion that fails keeps the row, in
/// `error_deleting`, and one that succeeds removes it.
#[tokio::test]
async fn shared_volumes_have_one_owner_and_are_deleted_by_name() {
    use ciel_controller::app::volume::params::{CreateVolume, CreateVolumeType};
    use ciel_controller::db::volume::VolumeStatus;
    use std::time::Duration;

    let (app, _dir) = common::app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let (h1, _) = common::register_host_with_storage(&app, "h1", None, &[], &["file", "rbd"]).await;
    let (h2, _) = common::register_host_with_storage(&app, "h2", None, &[], &["file", "rbd"]).await;
    let (h3, _) = common::register_host_with_storage(&app, "h3", None, &[], &["file"]).await;
    let t = CreateVolumeType::try_from(body(
        json!({"name": "ceph", "extra_specs": {"volume_backend_name": "rbd"}}),
    ));
    app.create_volume_type(&admin, t.unwrap()).await.unwrap();
    let p = CreateVolume::try_from(body(json!({"size": 1, "volume_type": "ceph", "name": "d"})));
    let v = app.create_volume(&admin, p.unwrap(), "req-test").await.unwrap();
    assert_eq!(v.backend, "rbd");
    let owner_id = v.host_id.clone().expect("an owner").into_string();
    assert_ne!(owner_id, h3.id, "h3 does not reach the cluster");
    let (owner, other) = if owner_id == h1.id { (&h1, &h2) } else { (&h2, &h1) };
    let desired = |h| {
        let app = app.clone();
        async move { app.host_config(h, 0, Duration::ZERO).await.unwrap() }
    };
    let cfg = desired(owner).await;
    assert_eq!(cfg.volumes.len(), 1);
    assert_eq!(
        (cfg.volumes[0].id.as_str(), cfg.volumes[0].backend.as_str()),
        (v.id.as_str(), "rbd")
    );
    assert!(desired(other).await.volumes.is_empty(), "only the owner makes it");

    let held = ciel_proto::HostReport {
        generation: cfg.generation,
        volumes: vec![ciel_proto::VolumeStatus {
            id: v.id.to_string(),
            size_gb: 1,
        }],
        ..Default::default()
    };
    app.host_report(owner, held.clone()).await.unwrap();
    assert_eq!(
        app.get_volume(&admin, &v.id).await.unwrap().status,
        VolumeStatus::Available
    );

    app.delete_volume(&admin, &v.id, false, false).await.unwrap();
    let cfg = desired(owner).await;
    assert!(cfg.volumes.is_empty());
    assert_eq!(cfg.deleted_volumes, vec![v.id.to_string()]);
    assert!(desired(other).await.deleted_volumes.is_empty());

    let failed = ciel_proto::HostReport {
        generation: cfg.generation,
        storage_errors: vec![(v.id.to_string(), "image still has watchers".into())],
        ..Default::default()
    };
    app.host_report(owner, failed).await.unwrap();
    let kept = app.get_volume(&admin, &v.id).await.unwrap();
    assert_eq!(
        kept.status,
        VolumeStatus::ErrorDeleting,
        "a failed deletion is not taken as done"
    );
    assert!(desired(owner).await.deleted_volumes.is_empty());

    // As in Cinder, error_deleting needs an admin's force to try again.
    assert_eq!(
        app.delete_volume(&admin, &v.id, false, false)
            .await
            .unwrap_err()
            .status(),
        400
    );
    app.delete_volume(&admin, &v.id, false, true).await.unwrap();
    let cfg = desired(owner).await;
    assert_eq!(cfg.deleted_volumes, vec![v.id.to_string()]);
    let done = ciel_proto::HostReport {
        generation: cfg.generation,
        ..Default::default()
    };
    app.host_report(owner, done).await.unwrap();
    assert_eq!(app.get_volume(&admin, &v.id).await.unwrap_err().status(), 404);
}

/// `ciel:images_type` on a flavor puts the root disks of servers booted from an image where
/// it says, whatever the host's own `images_type`, and only on hosts that reach that backend.
#[tokio::test]
async fn a_flavor_chooses_where_root_disks_go() {
    use ciel_controller::app::compute::params::CreateServer;
    use std::time::Duration;

    let (app, _dir) = common::app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let (files_only, _) = common::register_host_with_storage(&app, "h1", None, &[], &["file"]).await;
    let (ceph, _) = common::register_host_with_storage(&app, "h2", None, &[], &["file", "rbd"]).await;
    let f = CreateFlavor::try_from(body(json!({"name": "on-ceph", "ram": 64, "vcpus": 1, "disk": 1})));
    let f = app.create_flavor(&admin, f.unwrap()).await.unwrap();
    let bad = ExtraSpecs::try_from(body(json!({"ciel:images_type": "nfs"})));
    assert_eq!(bad.unwrap_err().status(), 400, "only file or rbd");
    let spec = ExtraSpecs::try_from(body(json!({"ciel:images_type": "rbd"}))).unwrap();
    app.set_flavor_extra_specs(&admin, &f.id, spec).await.unwrap();

    let img = common::raw_image(&app, &admin, "img").await;
    let boot = |flavor: &str, n: u32| {
        CreateServer::try_from(body(json!({
            "name": "vm", "imageRef": img.id, "flavorRef": flavor, "networks": "none",
            "min_count": n, "max_count": n})))
        .unwrap()
    };
    let made = app.create_servers(&admin, "req-1", &boot(&f.id, 3)).await.unwrap();
    assert!(
        made.iter().all(|s| s.host_id.as_deref() == Some(ceph.id.as_str())),
        "only h2 reaches the cluster, though h1 has more room once h2 holds one"
    );
    let cfg = app.host_config(&ceph, 0, Duration::ZERO).await.unwrap();
    assert_eq!(cfg.vms.len(), 3);
    assert!(
        cfg.vms.iter().all(|v| v.root_backend == "rbd"),
        "the flavor's choice, not h2's file"
    );

    // A flavor without the spec follows the host; one asking for files goes anywhere.
    let p = CreateFlavor::try_from(body(json!({"name": "plain", "ram": 64, "vcpus": 1, "disk": 1})));
    let p = app.create_flavor(&admin, p.unwrap()).await.unwrap();
    let plain = app.create_servers(&admin, "req-2", &boot(&p.id, 1)).await.unwrap();
    assert_eq!(
        plain[0].host_id.as_deref(),
        Some(files_only.id.as_str()),
        "most free RAM"
    );
    let spec = ExtraSpecs::try_from(body(json!({"ciel:images_type": "file"}))).unwrap();
    app.set_flavor_extra_specs(&admin, &f.id, spec).await.unwrap();
    app.create_servers(&admin, "req-3", &boot(&f.id, 1)).await.unwrap();
    let on_files = app.host_config(&files_only, 0, Duration::ZERO).await.unwrap();
    assert_eq!(on_files.vms.len(), 2);
    assert!(on_files.vms.iter().all(|v| v.root_backend == "file"));
}

/// An idle host is cheap: its long poll answers "unchanged" (None) once the wait passes with
/// no change for it, and a heartbeat report that observes nothing new writes nothing (the
/// server's `updated_at` stays). Asking from generation 0, or for a full answer, still gets
/// the whole desired state, and a change for the host ends the wait with it.
#[tokio::test]
async fn an_idle_host_gets_unchanged_answers_and_its_heartbeats_write_nothing() {
    use std::time::Duration;
    let (app, _dir) = common::app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    app.seed_default_flavors().await.unwrap();
    let (h, _) = common::register_fake_host(&app, "h1", None, &[]).await;
    let id = common::server_on(&app, &admin, "h1").await;
    let cfg = app.host_config(&h, 0, Duration::ZERO).await.unwrap();
    let now = cfg.generation;
    let running = ciel_proto::HostReport {
        generation: now,
        vms: vec![ciel_proto::VmStatus {
            id: id.clone(),
            state: ciel_proto::VmState::Running,
            boot_serial: cfg.vms[0].boot_serial,
            message: None,
            volumes: vec![],
            slots: vec![],
            migration: None,
            volume_migrations: vec![],
        }],
        ..Default::default()
    };
    app.host_report(&h, running.clone()).await.unwrap();
    let active = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(active.vm_state.to_string(), "active");

    let wait = Duration::from_millis(50);
    assert!(
        app.host_config_since(&h, now, wait, true).await.unwrap().is_none(),
        "unchanged"
    );
    let full = app.host_config_since(&h, now, wait, false).await.unwrap();
    assert_eq!(full.map(|c| c.generation), Some(now), "a full answer when asked for");
    let first = app.host_config_since(&h, 0, wait, true).await.unwrap();
    assert_eq!(
        first.map(|c| c.vms.len()),
        Some(1),
        "an agent that holds nothing gets it all"
    );

    // A heartbeat a second later changes nothing in the server's row.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.host_report(&h, running).await.unwrap();
    let after = app.get_server(&admin, &id).await.unwrap();
    assert_eq!(after.updated_at, active.updated_at, "a heartbeat is not an update");

    // A change for the host ends the wait with the new state.
    let poll = {
        let (app, h) = (app.clone(), h.clone());
        tokio::spawn(async move { app.host_config_since(&h, now, Duration::from_secs(5), true).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    use ciel_controller::app::compute::actions::PowerAction;
    app.server_power_action(&admin, &id, PowerAction::Stop, "req-stop")
        .await
        .unwrap();
    let cfg = poll.await.unwrap().unwrap().expect("the new state");
    assert!(cfg.generation > now);
}

/// A host's desired state is built from its share of the network model: the networks its
/// servers have ports on (with every port there, for l2 population), not the others; and a
/// rule naming a remote group holds that group's members' addresses wherever they are,
/// also on networks the host does not take part in.
#[tokio::test]
async fn a_hosts_desired_state_holds_its_share_of_the_network_model() {
    use ciel_controller::app::network::params::FromBody;
    use std::time::Duration;
    fn req<T: FromBody>(v: serde_json::Value) -> T {
        T::from_body(body(v)).unwrap()
    }
    let (app, _dir) = common::app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    app.seed_default_flavors().await.unwrap();
    let h1 = common::migration_host(&app, "h1", "192.0.2.1").await;
    let h2 = common::migration_host(&app, "h2", "192.0.2.2").await;
    let mut nets = vec![];
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        let n = app.create_network(&admin, req(json!({"name": name}))).await.unwrap();
        let cidr = format!("10.0.{i}.0/24");
        app.create_subnet(&admin, req(json!({"network_id": n.id, "ip_version": 4, "cidr": cidr})))
            .await
            .unwrap();
        nets.push(n.id.to_string());
    }
    let (a, b, c) = (&nets[0], &nets[1], &nets[2]);
    let peers = app
        .create_security_group(&admin, req(json!({"name": "peers"})))
        .await
        .unwrap();
    let web = app
        .create_security_group(&admin, req(json!({"name": "web"})))
        .await
        .unwrap();
    let rule = json!({"security_group_id": web.group.id, "direction": "ingress", "protocol": "tcp",
        "port_range_min": 80, "port_range_max": 80, "remote_group_id": peers.group.id});
    app.create_security_group_rule(&admin, req(rule)).await.unwrap();
    let port = |net: &str, group: &str| {
        let (app, admin) = (app.clone(), admin.clone());
        let spec = json!({"network_id": net, "security_groups": [group]});
        async move { app.create_port(&admin, req(spec)).await.unwrap() }
    };
    let on_a = port(a, &web.group.id).await;
    let on_b = port(b, &peers.group.id).await;
    let on_c = port(c, &peers.group.id).await;
    let img = common::raw_image(&app, &admin, "img").await;
    let boot = |name: &str, networks: serde_json::Value, host: &str| {
        let (app, admin) = (app.clone(), admin.clone());
        let spec = json!({"name": name, "imageRef": img.id, "flavorRef": "42", "networks": networks,
            "availability_zone": format!("nova:{host}")});
        async move {
            let r = ciel_controller::app::compute::params::CreateServer::try_from(body(spec)).unwrap();
            app.create_servers(&admin, "req", &r)
                .await
                .unwrap()
                .remove(0)
                .id
                .to_string()
        }
    };
    boot("s1", json!([{"port": on_a.port.id}]), "h1").await;
    boot("s2", json!([{"port": on_b.port.id}]), "h2").await;
    boot("s3", json!([{"uuid": a}]), "h2").await;

    let one = app.host_config(&h1, 0, Duration::ZERO).await.unwrap();
    let two = app.host_config(&h2, 0, Duration::ZERO).await.unwrap();
    let ids = |cfg: &ciel_proto::HostConfig| cfg.networks.iter().map(|n| n.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&one), vec![a.clone()], "h1 takes part in network a only");
    let mut on_two = ids(&two);
    on_two.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(on_two, want);
    assert!(
        !ids(&one).contains(c) && !on_two.contains(c),
        "no host runs anything on c"
    );
    // l2 population: s3's port on a lives on h2.
    let net_a = &one.networks[0];
    let s3_port = &two.vms.iter().find(|v| v.name == "s3").unwrap().nics[0];
    assert!(net_a
        .remote_ports
        .iter()
        .any(|r| r.mac == s3_port.mac && r.vtep == "192.0.2.2" && r.ips == s3_port.fixed_ips));
    // The remote group's members are on b (h2) and c (no host): both addresses are allowed.
    let fw = one.vms[0].nics[0].firewall.as_ref().expect("port security is on");
    let http = fw
        .rules
        .iter()
        .find(|r| r.port_min == Some(80))
        .expect("the rule naming the remote group");
    let mut remote = http.remote.clone().unwrap();
    remote.sort();
    let mut members: Vec<String> = [&on_b, &on_c]
        .iter()
        .flat_map(|p| p.fixed_ips.iter().map(|f| f.ip_address.clone()))
        .collect();
    members.sort();
    assert_eq!(remote, members);
}

/// Two controllers share the database, each scheduling from its own snapshot of the hosts'
/// claims. However stale a snapshot, no host goes over its allocation ratios: each choice
/// is checked against the host's own row and claims in the deciding transaction.
#[tokio::test]
async fn stale_scheduler_snapshots_never_overcommit_a_host() {
    use ciel_controller::app::compute::params::CreateServer;
    let (a, _dir) = common::app().await;
    let b = ciel_controller::app::App::new(a.db.clone(), (*a.cfg).clone())
        .await
        .unwrap();
    let (_, admin) = login(&a, "admin", "adminpw", Some("admin")).await.unwrap();
    // 8 GiB hosts at the default RAM ratio 1.5: room for three 4 GiB servers each.
    let (h1, _) = common::register_fake_host(&a, "h1", None, &[]).await;
    let (h2, _) = common::register_fake_host(&a, "h2", None, &[]).await;
    let f = CreateFlavor::try_from(body(
        json!({"name": "big", "ram": 4096, "vcpus": 1, "disk": 1, "id": "big"}),
    ));
    a.create_flavor(&admin, f.unwrap()).await.unwrap();
    let img = common::raw_image(&a, &admin, "img").await;
    let boot = |zone: Option<&str>| {
        let mut v = json!({"name": "vm", "imageRef": img.id, "flavorRef": "big", "networks": "none"});
        if let Some(z) = zone {
            v["availability_zone"] = json!(format!("nova:{z}"));
        }
        CreateServer::try_from(body(v)).unwrap()
    };
    let placed = |s: &ciel_controller::db::compute::servers::Server| s.host_id.as_ref().map(|h| h.to_string());

    // Controller a decides once: its snapshot now says both hosts are empty but for that one.
    let first = a.create_servers(&admin, "req-a1", &boot(None)).await.unwrap().remove(0);
    assert!(placed(&first).is_some(), "the first server finds a host");
    // Controller b fills both hosts behind a's back.
    let mut on_b = 0;
    for host in ["h1", "h2"] {
        loop {
            let s = b
                .create_servers(&admin, "req-b", &boot(Some(host)))
                .await
                .unwrap()
                .remove(0);
            if placed(&s).is_none() {
                break;
            }
            on_b += 1;
        }
    }
    assert_eq!(on_b, 5, "b fills what a left: six places, one taken");
    // a's snapshot still has room on both hosts; its checks find none.
    let late = a.create_servers(&admin, "req-a2", &boot(None)).await.unwrap().remove(0);
    assert_eq!(placed(&late), None, "no host has room left");
    let usage = ciel_controller::db::compute::hosts::usage(&a.db).await.unwrap();
    for h in [&h1, &h2] {
        let ram = usage.iter().find(|u| u.0 == h.id).map(|u| u.2).unwrap_or(0);
        assert_eq!(ram, 3 * 4096, "{} holds exactly three servers", h.hostname);
    }
}
