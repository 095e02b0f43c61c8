//! Network control plane against a real SQLite database (file-backed, so concurrency is real).

use crate::common;

use ciel_controller::app::identity::caller::Caller;
use ciel_controller::app::network::params::{CreateSecurityGroupRule, CreateSubnetPool, FromBody, UpdateNetworkQuota};
use ciel_controller::app::App;
use ciel_controller::config::ControllerConfig;
use ciel_controller::error::Error;
use common::{body, login, params, tempdir};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;

/// A typed network request from its JSON body (which must be valid: the checks of one
/// attribute are in its `from_body`).
fn req<T: FromBody>(v: serde_json::Value) -> T {
    T::from_body(body(v)).unwrap()
}

async fn file_app(dir: &tempdir::Dir) -> Arc<App> {
    let mut cfg = ControllerConfig::new(dir.0.clone(), "127.0.0.1:0".parse().unwrap());
    cfg.admin_password = Some("adminpw".into());
    let pool = ciel_controller::db::open_for_tests(&dir.0).await.unwrap();
    let app = App::new(pool, cfg).await.unwrap();
    app.bootstrap().await.unwrap();
    app
}

/// The flat external network `public` (admin-owned), without subnets.
async fn external_network(app: &App, admin: &Caller) -> ciel_controller::db::network::Network {
    let spec = json!({"name": "public", "router:external": true,
        "provider:network_type": "flat", "provider:physical_network": "external"});
    app.create_network(admin, req(spec)).await.unwrap()
}

/// A member of a fresh project `name`.
/// An IPv4 subnet `cidr` on network `net`, made by `caller`.
async fn subnet(app: &App, caller: &Caller, net: &str, cidr: &str) -> ciel_controller::db::network::Subnet {
    app.create_subnet(caller, req(json!({"network_id": net, "ip_version": 4, "cidr": cidr})))
        .await
        .unwrap()
}

async fn member(app: &App, admin: &Caller, name: &str) -> Caller {
    let p = app.create_project(admin, params(json!({"name": name}))).await.unwrap();
    let u = app
        .create_user(admin, params(json!({"name": format!("{name}-user"), "password": "pw"})))
        .await
        .unwrap();
    common::grant_user_project(app, admin, &u.id, &p.id, "member").await;
    login(app, &format!("{name}-user"), "pw", Some(name)).await.unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ports_get_distinct_addresses_until_exhaustion() {
    let dir = tempdir::Dir::new();
    let app = file_app(&dir).await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let a = member(&app, &admin, "pa").await;
    let net = app.create_network(&a, req(json!({"name": "n"}))).await.unwrap();
    assert_eq!(net.mtu, 1450, "VXLAN MTU is underlay - 50");
    assert!(net.segmentation_id.is_some());
    let sub = subnet(&app, &a, &net.id, "10.0.0.0/24").await;
    assert_eq!(sub.gateway_ip.as_deref(), Some("10.0.0.1"));

    let mut tasks = vec![];
    for _ in 0..100 {
        let (app, a, nid) = (app.clone(), a.clone(), net.id.clone());
        tasks.push(tokio::spawn(async move {
            app.create_port(&a, req(json!({"network_id": nid}))).await
        }));
    }
    let mut addrs = HashSet::new();
    for t in tasks {
        let p = t.await.unwrap().unwrap();
        assert_eq!(p.fixed_ips.len(), 1);
        assert!(addrs.insert(p.fixed_ips[0].ip_address.clone()), "duplicate address");
    }
    assert_eq!(addrs.len(), 100);

    // Fill the rest of the pool (.2-.254 = 253 addresses), then one more must fail cleanly.
    for _ in 100..253 {
        app.create_port(&a, req(json!({"network_id": net.id}))).await.unwrap();
    }
    let before = app.list_ports(&a).await.unwrap().len();
    match app.create_port(&a, req(json!({"network_id": net.id}))).await {
        Err(Error::Typed {
            status: 409,
            kind: "IpAddressGenerationFailure",
            ..
        }) => {}
        other => panic!("expected IpAddressGenerationFailure, got {other:?}"),
    }
    assert_eq!(app.list_ports(&a).await.unwrap().len(), before, "no half-created port");

    match app.delete_subnet(&a, &sub.id).await {
        Err(Error::Typed {
            status: 409,
            kind: "SubnetInUse",
            ..
        }) => {}
        other => panic!("expected SubnetInUse, got {other:?}"),
    }
}

#[tokio::test]
async fn requested_addresses_and_validation() {
    let dir = tempdir::Dir::new();
    let app = file_app(&dir).await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let a = member(&app, &admin, "pa").await;
    let net = app.create_network(&a, req(json!({"name": "n"}))).await.unwrap();
    let sub = app
        .create_subnet(
            &a,
            req(json!({"network_id": net.id, "ip_version": 4, "cidr": "192.168.5.0/24",
            "allocation_pools": [{"start": "192.168.5.10", "end": "192.168.5.20"}]})),
        )
        .await
        .unwrap();
    let overlap = app
        .create_subnet(
            &a,
            req(json!({"network_id": net.id, "ip_version": 4, "cidr": "192.168.5.128/25"})),
        )
        .await;
    assert!(
        matches!(overlap, Err(Error::BadRequest(_))),
        "overlapping subnet refused"
    );
    let bad = app
        .create_subnet(
            &a,
            req(json!({"network_id": net.id, "ip_version": 4, "cidr": "10.1.1.7/24"})),
        )
        .await;
    assert!(matches!(bad, Err(Error::BadRequest(_))), "host bits refused");

    let p = app
        .create_port(
            &a,
            req(json!({"network_id": net.id, "fixed_ips": [{"subnet_id": sub.id, "ip_address": "192.168.5.50"}]})),
        )
        .await
        .unwrap();
    assert_eq!(p.fixed_ips[0].ip_address, "192.168.5.50");
    let dup = app
        .create_port(
            &a,
            req(json!({"network_id": net.id, "fixed_ips": [{"ip_address": "192.168.5.50"}]})),
        )
        .await;
    assert!(matches!(
        dup,
        Err(Error::Typed {
            kind: "IpAddressAlreadyAllocated",
            ..
        })
    ));
    let auto = app.create_port(&a, req(json!({"network_id": net.id}))).await.unwrap();
    assert_eq!(
        auto.fixed_ips[0].ip_address, "192.168.5.10",
        "first address of the pool"
    );

    let v6 = app
        .create_subnet(
            &a,
            req(json!({"network_id": net.id, "ip_version": 6, "cidr": "2001:db8:1::/64",
            "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"})),
        )
        .await
        .unwrap();
    let dual = app
        .create_port(
            &a,
            req(json!({"network_id": net.id, "mac_address": "fa:16:3e:00:00:01"})),
        )
        .await
        .unwrap();
    let got: Vec<&str> = dual.fixed_ips.iter().map(|f| f.ip_address.as_str()).collect();
    assert_eq!(got, vec!["192.168.5.11", "2001:db8:1:0:f816:3eff:fe00:1"]);
    assert_eq!(dual.fixed_ips[1].subnet_id, v6.id);
}

#[tokio::test]
async fn projects_are_isolated_but_share_shared_and_external_networks() {
    let dir = tempdir::Dir::new();
    let app = file_app(&dir).await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let a = member(&app, &admin, "pa").await;
    let b = member(&app, &admin, "pb").await;
    let private = app.create_network(&a, req(json!({"name": "a-net"}))).await.unwrap();
    subnet(&app, &a, &private.id, "10.9.0.0/24").await;
    let port = app
        .create_port(&a, req(json!({"network_id": private.id})))
        .await
        .unwrap();
    assert!(matches!(
        app.create_network(&a, req(json!({"name": "x", "shared": true}))).await,
        Err(Error::Forbidden(_))
    ));
    let shared = app
        .create_network(&admin, req(json!({"name": "shared", "shared": true})))
        .await
        .unwrap();
    let ext = app
        .create_network(
            &admin,
            req(json!({"name": "public", "router:external": true,
            "provider:network_type": "flat", "provider:physical_network": "external"})),
        )
        .await
        .unwrap();

    assert!(matches!(
        app.get_network(&b, &private.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        app.get_port(&b, &port.port.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        app.create_port(&b, req(json!({"network_id": private.id}))).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        app.delete_network(&b, &private.id).await,
        Err(Error::NotFound { .. })
    ));
    let seen: HashSet<_> = app.list_networks(&b).await.unwrap().into_iter().map(|n| n.id).collect();
    assert!(seen.contains(&shared.id) && seen.contains(&ext.id) && !seen.contains(&private.id));
    assert!(app.list_ports(&b).await.unwrap().is_empty());
    match app.delete_network(&a, &private.id).await {
        Err(Error::Typed {
            status: 409,
            kind: "NetworkInUse",
            ..
        }) => {}
        other => panic!("expected NetworkInUse, got {other:?}"),
    }
    app.delete_port(&a, &port.port.id).await.unwrap();
    app.delete_network(&a, &private.id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn security_groups_default_rules_duplicates_and_isolation() {
    let dir = tempdir::Dir::new();
    let app = file_app(&dir).await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let a = member(&app, &admin, "pa").await;
    let b = member(&app, &admin, "pb").await;

    // Racing first uses create exactly one default group.
    let mut tasks = vec![];
    for _ in 0..8 {
        let (app, a) = (app.clone(), a.clone());
        tasks.push(tokio::spawn(async move { app.list_security_groups(&a).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let groups = app.list_security_groups(&a).await.unwrap();
    assert_eq!(groups.len(), 1);
    let default = &groups[0];
    assert_eq!(default.group.name, "default");
    assert_eq!(default.rules.len(), 4, "egress v4/v6 + ingress from self v4/v6");
    assert!(default
        .rules
        .iter()
        .filter(|r| r.direction == "ingress")
        .all(|r| r.remote_group_id.as_deref() == Some(default.group.id.as_str())));

    let web = app
        .create_security_group(&a, req(json!({"name": "web"})))
        .await
        .unwrap();
    let ssh = json!({"security_group_id": web.group.id, "direction": "ingress", "protocol": "tcp",
        "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"});
    app.create_security_group_rule(&a, req(ssh.clone())).await.unwrap();
    assert!(matches!(
        app.create_security_group_rule(&a, req(ssh)).await,
        Err(Error::Typed {
            kind: "SecurityGroupRuleExists",
            ..
        })
    ));
    let mismatch = json!({"security_group_id": web.group.id, "direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"});
    assert!(matches!(
        CreateSecurityGroupRule::from_body(body(mismatch)),
        Err(Error::Typed {
            status: 400,
            kind: "SecurityGroupRuleParameterConflict",
            ..
        })
    ));
    let bad_range = json!({"security_group_id": web.group.id, "direction": "ingress", "protocol": "tcp", "port_range_min": 90, "port_range_max": 80});
    assert!(matches!(
        CreateSecurityGroupRule::from_body(body(bad_range)),
        Err(Error::Typed {
            kind: "SecurityGroupInvalidPortRange",
            ..
        })
    ));

    // Ports get the default group unless told otherwise; a group in use cannot go.
    let net = app.create_network(&a, req(json!({"name": "n"}))).await.unwrap();
    subnet(&app, &a, &net.id, "10.2.0.0/24").await;
    let p = app.create_port(&a, req(json!({"network_id": net.id}))).await.unwrap();
    assert_eq!(p.security_groups, vec![default.group.id.clone()]);
    let p2 = app
        .create_port(
            &a,
            req(json!({"network_id": net.id, "security_groups": [web.group.id]})),
        )
        .await
        .unwrap();
    assert_eq!(p2.security_groups, vec![web.group.id.clone()]);
    assert!(matches!(
        app.delete_security_group(&a, &web.group.id).await,
        Err(Error::Typed {
            kind: "SecurityGroupInUse",
            ..
        })
    ));
    assert!(matches!(
        app.delete_security_group(&a, &default.group.id).await,
        Err(Error::Typed {
            kind: "SecurityGroupCannotRemoveDefault",
            ..
        })
    ));

    // Project B sees none of it and cannot borrow A's group.
    assert!(matches!(
        app.get_security_group(&b, &web.group.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(app
        .list_security_groups(&b)
        .await
        .unwrap()
        .iter()
        .all(|g| g.group.project_id != web.group.project_id));
    let bnet = app.create_network(&b, req(json!({"name": "bn"}))).await.unwrap();
    subnet(&app, &b, &bnet.id, "10.2.0.0/24").await;
    let steal = app
        .create_port(
            &b,
            req(json!({"network_id": bnet.id, "security_groups": [web.group.id]})),
        )
        .await;
    assert!(matches!(steal, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn routers_gateway_interfaces_and_in_use_rules() {
    let dir = tempdir::Dir::new();
    let app = file_app(&dir).await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let a = member(&app, &admin, "pa").await;
    let public = external_network(&app, &admin).await;
    subnet(&app, &admin, &public.id, "203.0.113.0/24").await;
    let net = app.create_network(&a, req(json!({"name": "n"}))).await.unwrap();
    let sub = subnet(&app, &a, &net.id, "10.3.0.0/24").await;

    let not_external = app
        .create_router(
            &a,
            req(json!({"name": "r0", "external_gateway_info": {"network_id": net.id}})),
        )
        .await;
    assert!(matches!(not_external, Err(Error::BadRequest(_))));
    let r = app
        .create_router(
            &a,
            req(json!({"name": "r", "external_gateway_info": {"network_id": public.id}})),
        )
        .await
        .unwrap();
    assert_eq!(r.gateway_ips.len(), 1);
    assert_eq!(
        r.gateway_ips[0].ip_address, "203.0.113.2",
        "first free external address"
    );

    let iface = app
        .add_router_interface(&a, &r.router.id, req(json!({"subnet_id": sub.id})))
        .await
        .unwrap();
    let port = app.get_port(&a, &iface.port_id).await.unwrap();
    assert_eq!(
        port.fixed_ips[0].ip_address, "10.3.0.1",
        "interface holds the subnet gateway"
    );
    assert!(matches!(
        app.add_router_interface(&a, &r.router.id, req(json!({"subnet_id": sub.id})))
            .await,
        Err(Error::BadRequest(_))
    ));
    assert!(matches!(
        app.delete_subnet(&a, &sub.id).await,
        Err(Error::Typed {
            kind: "SubnetInUse",
            ..
        })
    ));
    assert!(matches!(
        app.delete_router(&a, &r.router.id).await,
        Err(Error::Typed {
            kind: "RouterInUse",
            ..
        })
    ));
    assert!(matches!(
        app.delete_port(&a, &iface.port_id).await,
        Err(Error::Typed {
            kind: "ServicePortInUse",
            ..
        })
    ));

    app.remove_router_interface(&a, &r.router.id, req(json!({"subnet_id": sub.id})))
        .await
        .unwrap();
    app.delete_router(&a, &r.router.id).await.unwrap();
    assert!(
        app.list_ports(&admin)
            .await
            .unwrap()
            .iter()
            .all(|p| p.port.device_id != r.router.id),
        "gateway port removed"
    );
    app.delete_subnet(&a, &sub.id).await.unwrap();
}

#[tokio::test]
async fn floating_ips_need_a_router_path_and_map_one_to_one() {
    let dir = tempdir::Dir::new();
    let app = file_app(&dir).await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let a = member(&app, &admin, "pa").await;
    let b = member(&app, &admin, "pb").await;
    let public = external_network(&app, &admin).await;
    subnet(&app, &admin, &public.id, "198.51.100.0/28").await;
    let net = app.create_network(&a, req(json!({"name": "n"}))).await.unwrap();
    let sub = subnet(&app, &a, &net.id, "10.4.0.0/24").await;
    let vm = app.create_port(&a, req(json!({"network_id": net.id}))).await.unwrap();

    let fip = app
        .create_floating_ip(&a, req(json!({"floating_network_id": public.id})))
        .await
        .unwrap();
    assert_eq!(fip.floating_ip_address, "198.51.100.2");
    let no_path = app
        .update_floating_ip(&a, &fip.id, req(json!({"port_id": vm.port.id})))
        .await;
    assert!(matches!(
        no_path,
        Err(Error::Typed {
            kind: "ExternalGatewayForFloatingIPNotFound",
            ..
        })
    ));

    let r = app
        .create_router(
            &a,
            req(json!({"name": "r", "external_gateway_info": {"network_id": public.id}})),
        )
        .await
        .unwrap();
    app.add_router_interface(&a, &r.router.id, req(json!({"subnet_id": sub.id})))
        .await
        .unwrap();
    let bound = app
        .update_floating_ip(&a, &fip.id, req(json!({"port_id": vm.port.id})))
        .await
        .unwrap();
    assert_eq!(
        bound.fixed_ip_address.as_deref(),
        Some(vm.fixed_ips[0].ip_address.as_str())
    );
    assert_eq!(bound.router_id.as_deref(), Some(r.router.id.as_str()));
    let second = app
        .create_floating_ip(
            &a,
            req(json!({"floating_network_id": public.id, "port_id": vm.port.id})),
        )
        .await;
    assert!(
        matches!(
            second,
            Err(Error::Typed {
                kind: "FloatingIPPortAlreadyAssociated",
                ..
            })
        ),
        "one floating IP per fixed IP"
    );
    let remove = app
        .remove_router_interface(&a, &r.router.id, req(json!({"subnet_id": sub.id})))
        .await;
    assert!(matches!(
        remove,
        Err(Error::Typed {
            kind: "RouterInterfaceInUseByFloatingIP",
            ..
        })
    ));
    assert!(matches!(
        app.delete_port(&a, &fip.floating_port_id).await,
        Err(Error::NotFound { .. }) | Err(Error::Typed { .. })
    ));

    // Another project can neither see nor take it.
    assert!(matches!(
        app.get_floating_ip(&b, &fip.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(app.list_floating_ips(&b).await.unwrap().is_empty());

    app.delete_port(&a, &vm.port.id).await.unwrap();
    let after = app.get_floating_ip(&a, &fip.id).await.unwrap();
    assert!(
        after.port_id.is_none() && after.router_id.is_none(),
        "deleting the port disassociates"
    );
    app.delete_floating_ip(&a, &fip.id).await.unwrap();
    assert!(
        app.list_ports(&admin)
            .await
            .unwrap()
            .iter()
            .all(|p| p.port.id != fip.floating_port_id),
        "its port is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn network_quotas_hold_under_concurrency() {
    let dir = tempdir::Dir::new();
    let app = file_app(&dir).await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let a = member(&app, &admin, "pa").await;
    let pid = a.project_id().unwrap().to_string();
    let limit = UpdateNetworkQuota {
        check_limit: false,
        limits: vec![("network", 3)],
    };
    assert_eq!(
        app.set_network_quota(&admin, &pid, limit.clone()).await.unwrap()["network"],
        3
    );
    assert!(
        matches!(app.set_network_quota(&a, &pid, limit).await, Err(Error::Forbidden(_))),
        "members cannot raise quotas"
    );

    let mut tasks = vec![];
    for i in 0..10 {
        let (app, a) = (app.clone(), a.clone());
        tasks.push(tokio::spawn(async move {
            app.create_network(&a, req(json!({"name": format!("n{i}")}))).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::Typed {
                status: 409,
                kind: "OverQuota",
                ..
            }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 3, "exactly the quota, never more");
    assert_eq!(app.list_networks(&a).await.unwrap().len(), 3);
    let details = app.network_quota_details(&a, &pid).await.unwrap();
    assert_eq!(details["network"], (3, 3));
    app.reset_network_quota(&admin, &pid).await.unwrap();
    assert_eq!(app.network_quota(&a, &pid).await.unwrap()["network"], 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subnet_pools_hand_out_disjoint_blocks_under_concurrency() {
    let dir = tempdir::Dir::new();
    let app = file_app(&dir).await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let a = member(&app, &admin, "pa").await;
    let b = member(&app, &admin, "pb").await;
    // Validation: bounds, mixed versions, sharing by non-admins.
    let bad = [
        json!({"name": "x", "prefixes": []}),
        json!({"name": "x", "prefixes": ["10.0.0.0/8", "2001:db8::/32"]}),
        json!({"name": "x", "prefixes": ["10.0.0.0/8"], "min_prefixlen": 24, "default_prefixlen": 16}),
    ];
    for spec in bad {
        let e = match CreateSubnetPool::from_body(body(spec.clone())) {
            Ok(pool) => app.create_subnet_pool(&a, pool).await.unwrap_err(),
            Err(e) => e,
        };
        assert_eq!(e.status(), 400, "{spec}: {e}");
    }
    let e = app
        .create_subnet_pool(&a, req(json!({"prefixes": ["10.0.0.0/8"], "shared": true})))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);
    let pool = app
        .create_subnet_pool(
            &a,
            req(json!({"name": "p", "prefixes": ["10.20.0.0/24", "10.20.1.0/24"], "default_prefixlen": 28})),
        )
        .await
        .unwrap();
    assert_eq!(pool.prefixes, r#"["10.20.0.0/23"]"#, "adjacent prefixes are merged");
    assert!(
        app.get_subnet_pool(&b, &pool.id).await.is_err(),
        "B cannot see A's pool"
    );

    let net = app.create_network(&a, req(json!({"name": "n"}))).await.unwrap();
    let mut tasks = vec![];
    for _ in 0..20 {
        let (app, a, nid, pid) = (app.clone(), a.clone(), net.id.clone(), pool.id.clone());
        tasks.push(tokio::spawn(async move {
            app.create_subnet(&a, req(json!({"network_id": nid, "subnetpool_id": pid})))
                .await
                .map(|s| s.cidr)
        }));
    }
    let mut cidrs = vec![];
    for t in tasks {
        cidrs.push(t.await.unwrap().unwrap());
    }
    let nets: Vec<ipnet::IpNet> = cidrs.iter().map(|c| c.parse().unwrap()).collect();
    for (i, x) in nets.iter().enumerate() {
        assert_eq!(x.prefix_len(), 28);
        assert!("10.20.0.0/23".parse::<ipnet::IpNet>().unwrap().contains(x));
        for y in &nets[i + 1..] {
            assert!(
                !x.contains(&y.network()) && !y.contains(&x.network()),
                "{x} overlaps {y}"
            );
        }
    }
    // A requested CIDR must fit the pool and be free.
    let outside = json!({"network_id": net.id, "subnetpool_id": pool.id, "cidr": "192.168.0.0/28"});
    assert_eq!(app.create_subnet(&a, req(outside)).await.unwrap_err().status(), 400);
    let taken = json!({"network_id": net.id, "subnetpool_id": pool.id, "cidr": cidrs[0]});
    assert_eq!(app.create_subnet(&a, req(taken)).await.unwrap_err().status(), 400);
    // The /23 holds 32 /28s: 12 more fit, then the pool is exhausted with a 409.
    let net2 = app.create_network(&a, req(json!({"name": "n2"}))).await.unwrap();
    for _ in 0..12 {
        app.create_subnet(&a, req(json!({"network_id": net2.id, "subnetpool_id": pool.id})))
            .await
            .unwrap();
    }
    let e = app
        .create_subnet(&a, req(json!({"network_id": net2.id, "subnetpool_id": pool.id})))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 409, "{e}");
    // In use: cannot be deleted; a pool only grows.
    assert_eq!(app.delete_subnet_pool(&a, &pool.id).await.unwrap_err().status(), 409);
    let shrink = json!({"prefixes": ["10.20.0.0/24"]});
    assert_eq!(
        app.update_subnet_pool(&a, &pool.id, req(shrink))
            .await
            .unwrap_err()
            .status(),
        400
    );
    let grown = app
        .update_subnet_pool(&a, &pool.id, req(json!({"prefixes": ["10.20.0.0/22"]})))
        .await
        .unwrap();
    assert_eq!(grown.prefixes, r#"["10.20.0.0/22"]"#);
}

#[tokio::test]
async fn tags_belong_to_the_owner_and_go_with_the_resource() {
    use ciel_controller::app::network::tags::TagChange;
    let (app, _dir) = common::app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let a = member(&app, &admin, "pa").await;
    let b = member(&app, &admin, "pb").await;
    let net = app.create_network(&a, req(json!({"name": "n"}))).await.unwrap();
    let tags = app
        .change_tags(
            &a,
            "networks",
            &net.id,
            TagChange::Replace(vec!["red".into(), "blue".into()]),
        )
        .await
        .unwrap();
    assert_eq!(tags, ["blue", "red"]);
    app.change_tags(&a, "networks", &net.id, TagChange::Add("green".into()))
        .await
        .unwrap();
    let e = app
        .change_tags(&b, "networks", &net.id, TagChange::Add("mine".into()))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404, "B cannot even see A's network");
    let e = app
        .change_tags(&a, "networks", &net.id, TagChange::Remove("absent".into()))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
    assert_eq!(
        app.resource_tags(&a, "networks", &net.id).await.unwrap(),
        ["blue", "green", "red"]
    );
    app.delete_network(&a, &net.id).await.unwrap();
    assert!(
        app.tags_of_kind("networks").await.unwrap().is_empty(),
        "tags are deleted with the network"
    );
}

/// Neutron takes a `.json` suffix on any path: quota details, a project's quota (the project
/// id does not swallow the suffix: the override set through it is the one shown without it),
/// collections and items; an unknown path stays 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_suffix_is_accepted_on_every_path() {
    let dir = tempdir::Dir::new();
    let mut cfg = ControllerConfig::new(dir.0.join("data"), "127.0.0.1:0".parse().unwrap());
    cfg.admin_password = Some("adminpw".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    cfg.public_url = format!("http://{}", listener.local_addr().unwrap());
    let url = format!("{}/network/v2.0", cfg.public_url);
    let controller = ciel_controller::Controller::start(cfg).await.unwrap();
    let app = controller.app.clone();
    tokio::spawn(controller.serve(listener, std::future::pending()));
    let token = app
        .authenticate(common::password_req("admin", "adminpw", Some("admin")))
        .await
        .unwrap()
        .token;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let project = admin.project_id().unwrap().to_string();
    let http = reqwest::Client::new();
    let get = |path: String| {
        let req = http.get(format!("{url}{path}")).header("X-Auth-Token", &token);
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };

    let (status, details) = get(format!("/quotas/{project}/details.json")).await;
    assert_eq!(status, 200, "{details}");
    assert!(details["quota"]["network"]["used"].is_i64(), "{details}");
    assert_eq!(details, get(format!("/quotas/{project}/details")).await.1);

    let put = http
        .put(format!("{url}/quotas/{project}.json"))
        .header("X-Auth-Token", &token)
        .json(&json!({"quota": {"network": 7}}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    let (status, q) = get(format!("/quotas/{project}")).await;
    assert_eq!((status, &q["quota"]["network"]), (200, &json!(7)), "{q}");
    assert_eq!(get(format!("/quotas/{project}.json")).await.1, q);
    assert_eq!(
        get(format!("/quotas/{project}/details.json")).await.1["quota"]["network"]["limit"],
        7
    );

    let (status, nets) = get("/networks.json?name=public".into()).await;
    assert_eq!(status, 200);
    let id = nets["networks"][0]["id"].as_str().unwrap().to_string();
    let (status, one) = get(format!("/networks/{id}.json")).await;
    assert_eq!((status, one["network"]["name"].as_str()), (200, Some("public")));
    assert_eq!(get("/bogus.json".into()).await.0, 404);
    // The version document still answers at the service root, with or without the slash.
    for root in ["/network", "/network/"] {
        let base = url.trim_end_matches("/network/v2.0");
        let v: serde_json::Value = http
            .get(format!("{base}{root}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["versions"][0]["id"], "v2.0", "{root}");
    }
}

/// Neutron's RouterExternalGatewayInUseByFloatingIp: while a floating IP goes through a
/// router, its gateway can be neither cleared (`{}` or `null`) nor moved to another external
/// network, and the floating IP keeps its association; the same network again is fine, and
/// once the floating IP is disassociated the gateway can go.
#[tokio::test]
async fn router_gateway_in_use_by_floating_ips_stays() {
    let dir = tempdir::Dir::new();
    let app = file_app(&dir).await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let a = member(&app, &admin, "pa").await;
    let public = external_network(&app, &admin).await;
    subnet(&app, &admin, &public.id, "198.51.100.0/28").await;
    let spec = json!({"name": "public2", "router:external": true,
        "provider:network_type": "flat", "provider:physical_network": "external2"});
    let public2 = app.create_network(&admin, req(spec)).await.unwrap();
    subnet(&app, &admin, &public2.id, "192.0.2.0/28").await;
    let net = app.create_network(&a, req(json!({"name": "n"}))).await.unwrap();
    let sub = subnet(&app, &a, &net.id, "10.5.0.0/24").await;
    let vm = app.create_port(&a, req(json!({"network_id": net.id}))).await.unwrap();
    let r = app
        .create_router(
            &a,
            req(json!({"name": "r", "external_gateway_info": {"network_id": public.id}})),
        )
        .await
        .unwrap();
    app.add_router_interface(&a, &r.router.id, req(json!({"subnet_id": sub.id})))
        .await
        .unwrap();
    let fip = app
        .create_floating_ip(
            &a,
            req(json!({"floating_network_id": public.id, "port_id": vm.port.id})),
        )
        .await
        .unwrap();

    for gateway in [json!({}), json!(null), json!({"network_id": public2.id})] {
        let e = app
            .update_router(&a, &r.router.id, req(json!({"external_gateway_info": gateway})))
            .await
            .unwrap_err();
        assert_eq!(e.status(), 409, "{gateway}: {e:?}");
        match &e {
            Error::Typed { kind, message, .. } => {
                assert_eq!(*kind, "RouterExternalGatewayInUseByFloatingIp");
                assert_eq!(
                    *message,
                    format!("Gateway cannot be updated for router {}, since a gateway to external network {} is required by one or more floating IPs.", r.router.id, public.id)
                );
            }
            other => panic!("{gateway}: {other:?}"),
        }
        let now = app.get_router(&a, &r.router.id).await.unwrap();
        assert_eq!(now.router.gateway_network_id.as_deref(), Some(public.id.as_str()));
        assert_eq!(now.gateway_ips.len(), 1, "{gateway}: the gateway port stays");
        let f = app.get_floating_ip(&a, &fip.id).await.unwrap();
        assert_eq!(f.port_id.as_deref(), Some(vm.port.id.as_str()), "{gateway}");
        assert_eq!(f.router_id.as_deref(), Some(r.router.id.as_str()), "{gateway}");
    }

    // Other updates and the same external network are fine.
    let same = app
        .update_router(
            &a,
            &r.router.id,
            req(json!({"name": "r2", "external_gateway_info": {"network_id": public.id}})),
        )
        .await
        .unwrap();
    assert_eq!(same.router.name, "r2");
    assert_eq!(same.router.gateway_network_id.as_deref(), Some(public.id.as_str()));
    assert!(app.get_floating_ip(&a, &fip.id).await.unwrap().port_id.is_some());

    app.update_floating_ip(&a, &fip.id, req(json!({"port_id": null})))
        .await
        .unwrap();
    let cleared = app
        .update_router(&a, &r.router.id, req(json!({"external_gateway_info": {}})))
        .await
        .unwrap();
    assert!(cleared.router.gateway_network_id.is_none() && cleared.gateway_ips.is_empty());
}
