//! How each Neutron resource maps onto the app and its JSON (see `resource.rs`).

use super::query::ListQuery;
use super::render;
use super::resource::{Chunk, Resource};
use crate::app::identity::caller::Caller;
use crate::app::network::params::*;
use crate::app::network::ports::PortSelect;
use crate::error::Error;
use crate::http::AppState;
use serde_json::Value;

type Res<T> = Result<T, Error>;

pub struct Networks;
pub struct Subnets;
pub struct Rules;

/// A resource whose five calls map straight onto the app's and whose JSON needs nothing but
/// the item itself.
macro_rules! plain_resource {
    ($ty:ident, $singular:literal, $plural:literal, $path:literal, $render:path, $create_ty:ty, $update_ty:ty,
     $list:ident, $get:ident, $create:ident, $update:ident, $delete:ident $(, list_for: $list_for:path)?
     $(, page: $page:path, pages: $pages:path)?) => {
        pub struct $ty;

        impl Resource for $ty {
            const SINGULAR: &'static str = $singular;
            const PLURAL: &'static str = $plural;
            const PATH: &'static str = $path;
            type Create = $create_ty;
            type Update = $update_ty;

            async fn list(app: &AppState, c: &Caller) -> Res<Vec<Value>> {
                Ok(app.$list(c).await?.iter().map($render).collect())
            }
            $(
                async fn list_for(app: &AppState, c: &Caller, q: &ListQuery) -> Res<Vec<Value>> {
                    $list_for(app, c, q).await
                }
            )?
            $(
                fn pages(q: &ListQuery) -> bool {
                    $pages(q)
                }
                async fn page(app: &AppState, c: &Caller, after: Option<&str>, n: usize) -> Res<Chunk> {
                    $page(app, c, after, n).await
                }
            )?
            async fn show(app: &AppState, c: &Caller, id: &str) -> Res<Value> {
                Ok($render(&app.$get(c, id).await?))
            }
            async fn create(app: &AppState, c: &Caller, req: $create_ty) -> Res<Value> {
                Ok($render(&app.$create(c, req).await?))
            }
            async fn update(app: &AppState, c: &Caller, id: &str, req: $update_ty) -> Res<Value> {
                Ok($render(&app.$update(c, id, req).await?))
            }
            async fn delete(app: &AppState, c: &Caller, id: &str) -> Res<()> {
                app.$delete(c, id).await
            }
        }
    };
}

/// Ports by `id`, `device_id` or `network_id` are read from an index (a server's or a
/// network's ports are what clients ask for most).
async fn ports_for(app: &AppState, c: &Caller, q: &ListQuery) -> Res<Vec<Value>> {
    let owned = |k: &str| q.values(k).into_iter().map(str::to_owned).collect();
    let sel = PortSelect {
        ids: owned("id"),
        device_ids: owned("device_id"),
        network_ids: owned("network_id"),
    };
    Ok(app.list_ports_where(c, &sel).await?.iter().map(render::port).collect())
}

/// Ports are read page by page unless the query names the ports by `id`, `device_id` or
/// `network_id`: `ports_for` reads those from their own indexes instead.
fn ports_paged(q: &ListQuery) -> bool {
    ["id", "device_id", "network_id"].iter().all(|k| q.values(k).is_empty())
}

/// A page of every port the caller sees, from the primary key or the project's index.
async fn ports_page(app: &AppState, c: &Caller, after: Option<&str>, n: usize) -> Res<Chunk> {
    let (ports, next) = app.port_page(c, after, n).await?;
    Ok(Chunk {
        items: ports.iter().map(render::port).collect(),
        next,
    })
}

plain_resource!(
    Ports,
    "port",
    "ports",
    "ports",
    render::port,
    CreatePort,
    UpdatePort,
    list_ports,
    get_port,
    create_port,
    update_port,
    delete_port,
    list_for: ports_for,
    page: ports_page,
    pages: ports_paged
);
plain_resource!(
    SecurityGroups,
    "security_group",
    "security_groups",
    "security-groups",
    render::security_group,
    CreateSecurityGroup,
    UpdateSecurityGroup,
    list_security_groups,
    get_security_group,
    create_security_group,
    update_security_group,
    delete_security_group
);
plain_resource!(
    Routers,
    "router",
    "routers",
    "routers",
    render::router,
    CreateRouter,
    UpdateRouter,
    list_routers,
    get_router,
    create_router,
    update_router,
    delete_router
);
plain_resource!(
    FloatingIps,
    "floatingip",
    "floatingips",
    "floatingips",
    render::floating_ip,
    CreateFloatingIp,
    UpdateFloatingIp,
    list_floating_ips,
    get_floating_ip,
    create_floating_ip,
    update_floating_ip,
    delete_floating_ip
);
plain_resource!(
    SubnetPools,
    "subnetpool",
    "subnetpools",
    "subnetpools",
    render::subnet_pool,
    CreateSubnetPool,
    UpdateSubnetPool,
    list_subnet_pools,
    get_subnet_pool,
    create_subnet_pool,
    update_subnet_pool,
    delete_subnet_pool
);

async fn network_json(app: &AppState, c: &Caller, n: &crate::db::network::Network) -> Res<Value> {
    let subnets = app
        .list_subnets(c)
        .await?
        .into_iter()
        .filter(|s| s.network_id == n.id)
        .map(|s| s.id)
        .collect();
    Ok(render::network(
        n,
        subnets,
        c.may("network:networks:provider_attributes"),
    ))
}

impl Resource for Networks {
    const SINGULAR: &'static str = "network";
    const PLURAL: &'static str = "networks";
    const PATH: &'static str = "networks";
    type Create = CreateNetwork;
    type Update = UpdateNetwork;

    async fn list(app: &AppState, c: &Caller) -> Res<Vec<Value>> {
        let subnets = app.list_subnets(c).await?;
        Ok(app
            .list_networks(c)
            .await?
            .iter()
            .map(|n| {
                let ids = subnets
                    .iter()
                    .filter(|s| s.network_id == n.id)
                    .map(|s| s.id.clone())
                    .collect();
                render::network(n, ids, c.may("network:networks:provider_attributes"))
            })
            .collect())
    }
    fn pages(_q: &ListQuery) -> bool {
        true
    }
    async fn page(app: &AppState, c: &Caller, after: Option<&str>, n: usize) -> Res<Chunk> {
        let (nets, next) = app.network_page(c, after, n).await?;
        let provider = c.may("network:networks:provider_attributes");
        Ok(Chunk {
            items: nets
                .into_iter()
                .map(|(n, s)| render::network(&n, s, provider))
                .collect(),
            next,
        })
    }
    async fn show(app: &AppState, c: &Caller, id: &str) -> Res<Value> {
        network_json(app, c, &app.get_network(c, id).await?).await
    }
    async fn create(app: &AppState, c: &Caller, req: CreateNetwork) -> Res<Value> {
        network_json(app, c, &app.create_network(c, req).await?).await
    }
    async fn update(app: &AppState, c: &Caller, id: &str, req: UpdateNetwork) -> Res<Value> {
        network_json(app, c, &app.update_network(c, id, req).await?).await
    }
    async fn delete(app: &AppState, c: &Caller, id: &str) -> Res<()> {
        app.delete_network(c, id).await
    }
}

async fn subnet_json(app: &AppState, c: &Caller, s: &crate::db::network::Subnet) -> Res<Value> {
    let external = app.get_network(c, &s.network_id).await.is_ok_and(|n| n.external);
    Ok(render::subnet(s, external))
}

impl Resource for Subnets {
    const SINGULAR: &'static str = "subnet";
    const PLURAL: &'static str = "subnets";
    const PATH: &'static str = "subnets";
    type Create = CreateSubnet;
    type Update = UpdateSubnet;

    async fn list(app: &AppState, c: &Caller) -> Res<Vec<Value>> {
        let external: std::collections::HashSet<String> = app
            .list_networks(c)
            .await?
            .into_iter()
            .filter(|n| n.external)
            .map(|n| n.id.into_string())
            .collect();
        Ok(app
            .list_subnets(c)
            .await?
            .iter()
            .map(|s| render::subnet(s, external.contains(&s.network_id)))
            .collect())
    }
    async fn show(app: &AppState, c: &Caller, id: &str) -> Res<Value> {
        subnet_json(app, c, &app.get_subnet(c, id).await?).await
    }
    async fn create(app: &AppState, c: &Caller, req: CreateSubnet) -> Res<Value> {
        subnet_json(app, c, &app.create_subnet(c, req).await?).await
    }
    async fn update(app: &AppState, c: &Caller, id: &str, req: UpdateSubnet) -> Res<Value> {
        subnet_json(app, c, &app.update_subnet(c, id, req).await?).await
    }
    async fn delete(app: &AppState, c: &Caller, id: &str) -> Res<()> {
        app.delete_subnet(c, id).await
    }
}

/// The update body of a resource that cannot be updated: whatever it holds is refused later.
pub struct NoUpdate;

impl FromBody for NoUpdate {
    fn from_body(_: crate::app::json_input::Body) -> Res<Self> {
        Ok(NoUpdate)
    }
}

impl Resource for Rules {
    const SINGULAR: &'static str = "security_group_rule";
    const PLURAL: &'static str = "security_group_rules";
    const PATH: &'static str = "security-group-rules";
    const TAGGED: bool = false;
    type Create = CreateSecurityGroupRule;
    /// Never parsed: rules cannot be updated.
    type Update = NoUpdate;

    async fn list(app: &AppState, c: &Caller) -> Res<Vec<Value>> {
        Ok(app
            .list_security_group_rules(c)
            .await?
            .iter()
            .map(render::rule)
            .collect())
    }
    async fn show(app: &AppState, c: &Caller, id: &str) -> Res<Value> {
        Ok(render::rule(&app.get_security_group_rule(c, id).await?))
    }
    async fn create(app: &AppState, c: &Caller, req: CreateSecurityGroupRule) -> Res<Value> {
        Ok(render::rule(&app.create_security_group_rule(c, req).await?))
    }
    /// Rules are immutable in Neutron: replace them instead.
    async fn update(_: &AppState, _: &Caller, _: &str, _: NoUpdate) -> Res<Value> {
        Err(Error::MethodNotAllowed(
            "Security group rules cannot be updated.".into(),
        ))
    }
    async fn delete(app: &AppState, c: &Caller, id: &str) -> Res<()> {
        app.delete_security_group_rule(c, id).await
    }
}
