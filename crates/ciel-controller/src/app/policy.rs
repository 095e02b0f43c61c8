//! Authorization as data: one table from action (one per route and method, named like
//! OpenStack's policy names) to the rule that grants it, in the spirit of OpenStack's new
//! RBAC defaults: `reader` < `member` < `admin`, where `admin` (on any scope) is the cloud
//! admin, as Ciel has always treated it.
//!
//! A rule has two parts. The role part is checked for every route before its handler runs
//! (`http::routes` asks [`Caller::allowed`]); the resource part (which project owns the thing,
//! which user, is it shared or public) is checked in `app/` with [`Caller::authorize`] once
//! the resource is loaded: a resource the caller may not see answers 404, one it sees but may
//! not change answers 403, as the OpenStack services do.

use crate::app::identity::caller::Caller;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock};

/// The name of a policy action, e.g. `compute:servers:create`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Action(Arc<str>);

impl Action {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Action {
    fn from(s: &str) -> Self {
        Action(s.into())
    }
}

impl From<String> for Action {
    fn from(s: String) -> Self {
        Action(s.into())
    }
}

/// Who an action is granted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// No token needed: version documents, issuing a token, changing a password with the old
    /// one, the dashboard's files, the agent API (which has its own bearer tokens), the
    /// console proxy (its own one-time tokens).
    Public,
    /// Any valid token, whatever its roles or scope.
    Authenticated,
    /// `reader` (or `member`, or `admin`): reading what the caller's project owns, and what
    /// is visible to it (public or shared images, shared or external networks, public flavors).
    ProjectReader,
    /// `member` (or `admin`): changing what the caller's project owns.
    ProjectMember,
    /// `admin` only.
    Admin,
    /// Any valid token; the resource must belong to the caller's own user (credentials,
    /// application credentials, key pairs), or the caller is an admin.
    OwnerOrAdmin,
}

impl Rule {
    /// Whether the rule lets a caller change things (readers are refused these).
    pub fn writes(self) -> bool {
        matches!(self, Rule::ProjectMember | Rule::Admin)
    }
}

use Rule::*;

/// The policy table. Every action registered on a route must be here: a route whose action is
/// missing is refused at runtime and fails the every-route test.
pub const POLICIES: &[(&str, Rule)] = &[
    // --- web dashboard and the hypervisor agents' API --------------------------------------
    ("dashboard:index", Public),
    ("dashboard:file", Public),
    ("dashboard:asset", Public),
    ("agent:register", Public),
    ("agent:config", Public),
    ("agent:report", Public),
    ("agent:samples", Public),
    ("agent:image_file", Public),
    ("agent:metadata", Public),
    ("health:check", Public),
    ("health:ready", Public),
    // The handler itself admits the allowed source addresses or an admin token
    // (`[metrics] allow`): Prometheus cannot send `X-Auth-Token`.
    ("metrics:scrape", Public),
    // --- Ciel's operator API (`ciel status`, `ciel usage`) -------------------------------
    ("ciel:status", Admin),
    // Members read their own project's usage; the app refuses them others'.
    ("ciel:usage", ProjectReader),
    // A server's graphs: its project's members (the app checks the project); a host's: admins.
    ("ciel:server_samples", ProjectReader),
    ("ciel:host_samples", Admin),
    // --- Keystone ---------------------------------------------------------------------------
    ("identity:versions", Public),
    ("identity:version", Public),
    ("identity:issue_token", Public),
    ("identity:change_password", Public),
    ("identity:validate_token", OwnerOrAdmin),
    ("identity:check_token", OwnerOrAdmin),
    ("identity:revoke_token", OwnerOrAdmin),
    ("identity:get_auth_catalog", Authenticated),
    ("identity:get_auth_projects", Authenticated),
    ("identity:get_auth_domains", Authenticated),
    ("identity:get_auth_system", Authenticated),
    ("identity:list_domains", Admin),
    ("identity:get_domain", Authenticated),
    ("identity:create_domain", Admin),
    ("identity:update_domain", Admin),
    ("identity:delete_domain", Admin),
    ("identity:list_projects", Admin),
    ("identity:get_project", Authenticated),
    ("identity:create_project", Admin),
    ("identity:update_project", Admin),
    ("identity:delete_project", Admin),
    ("identity:list_project_tags", Authenticated),
    ("identity:get_project_tag", Authenticated),
    ("identity:update_project_tags", Admin),
    ("identity:delete_project_tags", Admin),
    ("identity:create_project_tag", Admin),
    ("identity:delete_project_tag", Admin),
    ("identity:list_users", Admin),
    ("identity:get_user", OwnerOrAdmin),
    ("identity:create_user", Admin),
    ("identity:update_user", Admin),
    ("identity:delete_user", Admin),
    ("identity:list_user_projects", OwnerOrAdmin),
    ("identity:list_groups_for_user", OwnerOrAdmin),
    ("identity:list_groups", Admin),
    ("identity:get_group", Admin),
    ("identity:create_group", Admin),
    ("identity:update_group", Admin),
    ("identity:delete_group", Admin),
    ("identity:list_users_in_group", Admin),
    ("identity:add_user_to_group", Admin),
    ("identity:check_user_in_group", Admin),
    ("identity:remove_user_from_group", Admin),
    ("identity:list_roles", Authenticated),
    ("identity:get_role", Authenticated),
    ("identity:create_role", Admin),
    ("identity:update_role", Admin),
    ("identity:delete_role", Admin),
    ("identity:list_implied_roles", Admin),
    ("identity:get_implied_role", Admin),
    ("identity:check_implied_role", Admin),
    ("identity:create_implied_role", Admin),
    ("identity:delete_implied_role", Admin),
    ("identity:list_role_inference_rules", Admin),
    ("identity:list_role_assignments", OwnerOrAdmin),
    ("identity:list_grants", Admin),
    ("identity:check_grant", Admin),
    ("identity:create_grant", Admin),
    ("identity:revoke_grant", Admin),
    ("identity:list_regions", Authenticated),
    ("identity:get_region", Authenticated),
    ("identity:create_region", Admin),
    ("identity:update_region", Admin),
    ("identity:delete_region", Admin),
    ("identity:list_services", Authenticated),
    ("identity:get_service", Authenticated),
    ("identity:create_service", Admin),
    ("identity:update_service", Admin),
    ("identity:delete_service", Admin),
    ("identity:list_endpoints", Authenticated),
    ("identity:get_endpoint", Authenticated),
    ("identity:create_endpoint", Admin),
    ("identity:update_endpoint", Admin),
    ("identity:delete_endpoint", Admin),
    ("identity:list_application_credentials", OwnerOrAdmin),
    ("identity:get_application_credential", OwnerOrAdmin),
    ("identity:create_application_credential", OwnerOrAdmin),
    ("identity:delete_application_credential", OwnerOrAdmin),
    ("identity:list_credentials", OwnerOrAdmin),
    ("identity:get_credential", OwnerOrAdmin),
    ("identity:create_credential", OwnerOrAdmin),
    ("identity:update_credential", OwnerOrAdmin),
    ("identity:delete_credential", OwnerOrAdmin),
    ("identity:list_policies", Admin),
    ("identity:get_policy", Admin),
    ("identity:create_policy", Admin),
    ("identity:update_policy", Admin),
    ("identity:delete_policy", Admin),
    // --- Octavia -----------------------------------------------------------------------------
    ("load-balancer:versions", Public),
    ("load-balancer:version", Public),
    ("load-balancer:loadbalancer:get_all", ProjectReader),
    ("load-balancer:loadbalancer:get_one", ProjectReader),
    ("load-balancer:loadbalancer:get_stats", ProjectReader),
    ("load-balancer:loadbalancer:get_status", ProjectReader),
    ("load-balancer:loadbalancer:post", ProjectMember),
    ("load-balancer:loadbalancer:put", ProjectMember),
    ("load-balancer:loadbalancer:delete", ProjectMember),
    ("load-balancer:loadbalancer:put_failover", Admin),
    ("load-balancer:listener:get_all", ProjectReader),
    ("load-balancer:listener:get_one", ProjectReader),
    ("load-balancer:listener:get_stats", ProjectReader),
    ("load-balancer:listener:post", ProjectMember),
    ("load-balancer:listener:put", ProjectMember),
    ("load-balancer:listener:delete", ProjectMember),
    ("load-balancer:pool:get_all", ProjectReader),
    ("load-balancer:pool:get_one", ProjectReader),
    ("load-balancer:pool:post", ProjectMember),
    ("load-balancer:pool:put", ProjectMember),
    ("load-balancer:pool:delete", ProjectMember),
    ("load-balancer:member:get_all", ProjectReader),
    ("load-balancer:member:get_one", ProjectReader),
    ("load-balancer:member:post", ProjectMember),
    ("load-balancer:member:put", ProjectMember),
    ("load-balancer:member:delete", ProjectMember),
    ("load-balancer:healthmonitor:get_all", ProjectReader),
    ("load-balancer:healthmonitor:get_one", ProjectReader),
    ("load-balancer:healthmonitor:post", ProjectMember),
    ("load-balancer:healthmonitor:put", ProjectMember),
    ("load-balancer:healthmonitor:delete", ProjectMember),
    ("load-balancer:l7policy:get_all", ProjectReader),
    ("load-balancer:l7policy:get_one", ProjectReader),
    ("load-balancer:l7policy:post", ProjectMember),
    ("load-balancer:l7policy:put", ProjectMember),
    ("load-balancer:l7policy:delete", ProjectMember),
    ("load-balancer:l7rule:get_all", ProjectReader),
    ("load-balancer:l7rule:get_one", ProjectReader),
    ("load-balancer:l7rule:post", ProjectMember),
    ("load-balancer:l7rule:put", ProjectMember),
    ("load-balancer:l7rule:delete", ProjectMember),
    ("load-balancer:quota:get_all", ProjectReader),
    ("load-balancer:quota:get_one", ProjectReader),
    ("load-balancer:quota:get_defaults", ProjectReader),
    ("load-balancer:quota:put", Admin),
    ("load-balancer:quota:delete", Admin),
    ("load-balancer:provider:get_all", ProjectReader),
    // Octavia's defaults: capabilities and profiles are the operator's; flavors and zones
    // are read by every reader and written by admins.
    ("load-balancer:provider-flavor:get_all", Admin),
    ("load-balancer:provider-availability-zone:get_all", Admin),
    ("load-balancer:flavor:get_all", ProjectReader),
    ("load-balancer:flavor:get_one", ProjectReader),
    ("load-balancer:flavor:post", Admin),
    ("load-balancer:flavor:put", Admin),
    ("load-balancer:flavor:delete", Admin),
    ("load-balancer:flavor-profile:get_all", Admin),
    ("load-balancer:flavor-profile:get_one", Admin),
    ("load-balancer:flavor-profile:post", Admin),
    ("load-balancer:flavor-profile:put", Admin),
    ("load-balancer:flavor-profile:delete", Admin),
    ("load-balancer:availability-zone:get_all", ProjectReader),
    ("load-balancer:availability-zone:get_one", ProjectReader),
    ("load-balancer:availability-zone:post", Admin),
    ("load-balancer:availability-zone:put", Admin),
    ("load-balancer:availability-zone:delete", Admin),
    ("load-balancer:availability-zone-profile:get_all", Admin),
    ("load-balancer:availability-zone-profile:get_one", Admin),
    ("load-balancer:availability-zone-profile:post", Admin),
    ("load-balancer:availability-zone-profile:put", Admin),
    ("load-balancer:availability-zone-profile:delete", Admin),
    ("load-balancer:amphora:get_all", Admin),
    // --- Glance -----------------------------------------------------------------------------
    ("image:versions", Public),
    ("image:versions_ok", Public),
    ("image:schema", Authenticated),
    ("image:import_info", Authenticated),
    ("image:list_images", ProjectReader),
    ("image:show_image", ProjectReader),
    ("image:download", ProjectReader),
    ("image:image_tasks", ProjectReader),
    ("image:create_image", ProjectMember),
    ("image:patch_image", ProjectMember),
    ("image:delete_image", ProjectMember),
    ("image:upload", ProjectMember),
    ("image:add_tag", ProjectMember),
    ("image:delete_tag", ProjectMember),
    ("image:deactivate", ProjectMember),
    ("image:reactivate", ProjectMember),
    ("image:list_members", ProjectReader),
    ("image:show_member", ProjectReader),
    ("image:add_member", ProjectMember),
    ("image:update_member", ProjectMember),
    ("image:delete_member", ProjectMember),
    ("image:metadefs:schema", Authenticated),
    ("image:metadefs:list_resource_types", Authenticated),
    ("image:metadefs:list_namespaces", ProjectReader),
    ("image:metadefs:show_namespace", ProjectReader),
    ("image:metadefs:list_associations", ProjectReader),
    ("image:metadefs:list_objects", ProjectReader),
    ("image:metadefs:show_object", ProjectReader),
    ("image:metadefs:list_properties", ProjectReader),
    ("image:metadefs:show_property", ProjectReader),
    ("image:metadefs:list_tags", ProjectReader),
    ("image:metadefs:show_tag", ProjectReader),
    ("image:metadefs:create_namespace", Admin),
    ("image:metadefs:update_namespace", Admin),
    ("image:metadefs:delete_namespace", Admin),
    ("image:metadefs:create_association", Admin),
    ("image:metadefs:delete_association", Admin),
    ("image:metadefs:create_object", Admin),
    ("image:metadefs:update_object", Admin),
    ("image:metadefs:delete_object", Admin),
    ("image:metadefs:delete_objects", Admin),
    ("image:metadefs:create_property", Admin),
    ("image:metadefs:update_property", Admin),
    ("image:metadefs:delete_property", Admin),
    ("image:metadefs:delete_properties", Admin),
    ("image:metadefs:create_tag", Admin),
    ("image:metadefs:create_tags", Admin),
    ("image:metadefs:update_tag", Admin),
    ("image:metadefs:delete_tag", Admin),
    ("image:metadefs:delete_tags", Admin),
    // --- Nova -------------------------------------------------------------------------------
    ("compute:versions", Public),
    ("compute:version", Public),
    ("compute:version_v20", Public),
    ("compute:consoles:proxy", Public),
    ("compute:flavors:list", Authenticated),
    ("compute:flavors:detail", Authenticated),
    ("compute:flavors:show", Authenticated),
    ("compute:flavors:extra_specs", ProjectReader),
    ("compute:flavors:extra_spec", ProjectReader),
    ("compute:flavors:create", Admin),
    ("compute:flavors:update", Admin),
    ("compute:flavors:delete", Admin),
    ("compute:flavors:set_extra_specs", Admin),
    ("compute:flavors:put_extra_spec", Admin),
    ("compute:flavors:delete_extra_spec", Admin),
    ("compute:flavors:access", Admin),
    ("compute:flavors:action", Admin),
    ("compute:servers:list", ProjectReader),
    ("compute:servers:detail", ProjectReader),
    ("compute:servers:show", ProjectReader),
    ("compute:servers:ips", ProjectReader),
    ("compute:servers:ips_by_network", ProjectReader),
    ("compute:servers:create", ProjectMember),
    ("compute:servers:update", ProjectMember),
    ("compute:servers:delete", ProjectMember),
    ("compute:server_actions:action", ProjectMember),
    ("compute:server_actions:list_actions", ProjectReader),
    ("compute:server_actions:show_action", ProjectReader),
    ("compute:consoles:create", ProjectMember),
    ("compute:interfaces:list", ProjectReader),
    ("compute:interfaces:show", ProjectReader),
    ("compute:interfaces:attach", ProjectMember),
    ("compute:interfaces:detach", ProjectMember),
    ("compute:volume_attachments:list", ProjectReader),
    ("compute:volume_attachments:show", ProjectReader),
    ("compute:volume_attachments:attach", ProjectMember),
    ("compute:volume_attachments:detach", ProjectMember),
    ("compute:server_meta:list", ProjectReader),
    ("compute:server_meta:show_item", ProjectReader),
    ("compute:server_meta:tags", ProjectReader),
    ("compute:server_meta:check_tag", ProjectReader),
    ("compute:server_meta:password", ProjectReader),
    ("compute:server_meta:merge", ProjectMember),
    ("compute:server_meta:replace", ProjectMember),
    ("compute:server_meta:set_item", ProjectMember),
    ("compute:server_meta:delete_item", ProjectMember),
    ("compute:server_meta:replace_tags", ProjectMember),
    ("compute:server_meta:delete_tags", ProjectMember),
    ("compute:server_meta:add_tag", ProjectMember),
    ("compute:server_meta:delete_tag", ProjectMember),
    ("compute:server_meta:clear_password", ProjectMember),
    ("compute:security_groups:of_server", ProjectReader),
    ("compute:security_groups:list", ProjectReader),
    ("compute:security_groups:show", ProjectReader),
    ("compute:security_groups:create", ProjectMember),
    ("compute:security_groups:update", ProjectMember),
    ("compute:security_groups:delete", ProjectMember),
    ("compute:security_groups:create_rule", ProjectMember),
    ("compute:security_groups:delete_rule", ProjectMember),
    ("compute:volumes:list", ProjectReader),
    ("compute:volumes:show", ProjectReader),
    ("compute:volumes:list_snapshots", ProjectReader),
    ("compute:volumes:show_snapshot", ProjectReader),
    ("compute:volumes:create", ProjectMember),
    ("compute:volumes:delete", ProjectMember),
    ("compute:volumes:create_snapshot", ProjectMember),
    ("compute:volumes:delete_snapshot", ProjectMember),
    ("compute:images:list", ProjectReader),
    ("compute:images:detail", ProjectReader),
    ("compute:images:show", ProjectReader),
    ("compute:images:metadata", ProjectReader),
    ("compute:images:metadata_item", ProjectReader),
    ("compute:images:delete", ProjectMember),
    ("compute:images:merge_metadata", ProjectMember),
    ("compute:images:replace_metadata", ProjectMember),
    ("compute:images:set_metadata_item", ProjectMember),
    ("compute:images:delete_metadata_item", ProjectMember),
    ("compute:hosts:hypervisors", Admin),
    ("compute:hosts:hypervisors_detail", Admin),
    ("compute:hosts:hypervisor_show", Admin),
    ("compute:hosts:hypervisor_statistics", Admin),
    ("compute:hosts:hypervisor_search", Admin),
    ("compute:hosts:services", Admin),
    ("compute:hosts:update_service", Admin),
    ("compute:migrations:list", Admin),
    ("compute:migrations:of_server_list", Admin),
    ("compute:migrations:of_server_show", Admin),
    ("compute:migrations:action", Admin),
    ("compute:migrations:abort", Admin),
    ("compute:hosts:availability_zones", ProjectReader),
    ("compute:hosts:availability_zones_detail", Admin),
    ("compute:hosts:limits", ProjectReader),
    ("compute:aggregates:list", Admin),
    ("compute:aggregates:show", Admin),
    ("compute:aggregates:create", Admin),
    ("compute:aggregates:update", Admin),
    ("compute:aggregates:delete", Admin),
    ("compute:aggregates:action", Admin),
    ("compute:audit_log:list", Admin),
    ("compute:audit_log:show", Admin),
    ("compute:os_hosts:list", Admin),
    ("compute:os_hosts:show", Admin),
    ("compute:os_hosts:update", Admin),
    ("compute:os_hosts:power", Admin),
    ("compute:quotas:show", ProjectReader),
    ("compute:quotas:defaults", Authenticated),
    ("compute:quotas:detail", ProjectReader),
    ("compute:quotas:update", Admin),
    ("compute:quotas:reset", Admin),
    ("compute:quotas:show_class", Admin),
    ("compute:quotas:update_class", Admin),
    ("compute:usage:list", Admin),
    ("compute:usage:show", ProjectReader),
    ("compute:networks:list", ProjectReader),
    ("compute:networks:show", ProjectReader),
    ("compute:floating_ips:list", ProjectReader),
    ("compute:floating_ips:show", ProjectReader),
    ("compute:floating_ips:create", ProjectMember),
    ("compute:floating_ips:delete", ProjectMember),
    ("compute:server_groups:list", ProjectReader),
    ("compute:server_groups:show", ProjectReader),
    ("compute:server_groups:create", ProjectMember),
    ("compute:server_groups:delete", ProjectMember),
    ("compute:keypairs:list", OwnerOrAdmin),
    ("compute:keypairs:show", OwnerOrAdmin),
    ("compute:keypairs:create", OwnerOrAdmin),
    ("compute:keypairs:delete", OwnerOrAdmin),
    // --- Neutron ----------------------------------------------------------------------------
    ("network:versions", Public),
    ("network:version", Public),
    ("network:extensions:list", Authenticated),
    ("network:extensions:show", Authenticated),
    ("network:availability_zones:list", ProjectReader),
    ("network:agents:list", ProjectReader),
    ("network:quotas:list", Admin),
    ("network:quotas:show", ProjectReader),
    ("network:quotas:default", Authenticated),
    ("network:quotas:details", ProjectReader),
    ("network:quotas:update", Admin),
    ("network:quotas:delete", Admin),
    ("network:routers:add_router_interface", ProjectMember),
    ("network:routers:remove_router_interface", ProjectMember),
    ("network:networks:list", ProjectReader),
    ("network:networks:show", ProjectReader),
    ("network:networks:create", ProjectMember),
    ("network:networks:update", ProjectMember),
    ("network:networks:delete", ProjectMember),
    ("network:subnets:list", ProjectReader),
    ("network:subnets:show", ProjectReader),
    ("network:subnets:create", ProjectMember),
    ("network:subnets:update", ProjectMember),
    ("network:subnets:delete", ProjectMember),
    ("network:ports:list", ProjectReader),
    ("network:ports:show", ProjectReader),
    ("network:ports:create", ProjectMember),
    ("network:ports:update", ProjectMember),
    ("network:ports:delete", ProjectMember),
    ("network:security_groups:list", ProjectReader),
    ("network:security_groups:show", ProjectReader),
    ("network:security_groups:create", ProjectMember),
    ("network:security_groups:update", ProjectMember),
    ("network:security_groups:delete", ProjectMember),
    ("network:security_group_rules:list", ProjectReader),
    ("network:security_group_rules:show", ProjectReader),
    ("network:security_group_rules:create", ProjectMember),
    ("network:security_group_rules:update", ProjectMember),
    ("network:security_group_rules:delete", ProjectMember),
    ("network:routers:list", ProjectReader),
    ("network:routers:show", ProjectReader),
    ("network:routers:create", ProjectMember),
    ("network:routers:update", ProjectMember),
    ("network:routers:delete", ProjectMember),
    ("network:floatingips:list", ProjectReader),
    ("network:floatingips:show", ProjectReader),
    ("network:floatingips:create", ProjectMember),
    ("network:floatingips:update", ProjectMember),
    ("network:floatingips:delete", ProjectMember),
    ("network:subnetpools:list", ProjectReader),
    ("network:subnetpools:show", ProjectReader),
    ("network:subnetpools:create", ProjectMember),
    ("network:subnetpools:update", ProjectMember),
    ("network:subnetpools:delete", ProjectMember),
    ("network:tags:list", ProjectReader),
    ("network:tags:check", ProjectReader),
    ("network:tags:replace", ProjectMember),
    ("network:tags:add", ProjectMember),
    ("network:tags:remove", ProjectMember),
    ("network:tags:remove_all", ProjectMember),
    // --- Cinder -----------------------------------------------------------------------------
    ("volume:versions", Public),
    ("volume:version", Public),
    ("volume:volumes:not_found", Public),
    ("volume:volumes:list", ProjectReader),
    ("volume:volumes:detail", ProjectReader),
    ("volume:volumes:summary", ProjectReader),
    ("volume:volumes:show", ProjectReader),
    ("volume:volumes:create", ProjectMember),
    ("volume:volumes:update", ProjectMember),
    ("volume:volumes:delete", ProjectMember),
    ("volume:volumes:action", ProjectMember),
    ("volume:volume_metadata:show", ProjectReader),
    ("volume:volume_metadata:item", ProjectReader),
    ("volume:volume_metadata:merge", ProjectMember),
    ("volume:volume_metadata:replace", ProjectMember),
    ("volume:volume_metadata:put_item", ProjectMember),
    ("volume:volume_metadata:delete_item", ProjectMember),
    ("volume:snapshots:list", ProjectReader),
    ("volume:snapshots:detail", ProjectReader),
    ("volume:snapshots:show", ProjectReader),
    ("volume:snapshots:create", ProjectMember),
    ("volume:snapshots:update", ProjectMember),
    ("volume:snapshots:delete", ProjectMember),
    ("volume:snapshots:action", ProjectMember),
    ("volume:snapshot_metadata:show", ProjectReader),
    ("volume:snapshot_metadata:item", ProjectReader),
    ("volume:snapshot_metadata:merge", ProjectMember),
    ("volume:snapshot_metadata:replace", ProjectMember),
    ("volume:snapshot_metadata:put_item", ProjectMember),
    ("volume:snapshot_metadata:delete_item", ProjectMember),
    ("volume:types:list", ProjectReader),
    ("volume:types:show", ProjectReader),
    ("volume:types:show_default", ProjectReader),
    ("volume:types:extra_specs", ProjectReader),
    ("volume:types:extra_spec", ProjectReader),
    ("volume:types:create", Admin),
    ("volume:types:update", Admin),
    ("volume:types:delete", Admin),
    ("volume:types:action", Admin),
    ("volume:types:access", Admin),
    ("volume:types:set_extra_specs", Admin),
    ("volume:types:put_extra_spec", Admin),
    ("volume:types:delete_extra_spec", Admin),
    // Encryption specs are an admin's business in Cinder, reads included.
    ("volume:types:encryption", Admin),
    ("volume:types:encryption_spec", Admin),
    ("volume:types:create_encryption", Admin),
    ("volume:types:update_encryption", Admin),
    ("volume:types:delete_encryption", Admin),
    ("volume:attachments:list", ProjectReader),
    ("volume:attachments:detail", ProjectReader),
    ("volume:attachments:show", ProjectReader),
    ("volume:attachments:create", ProjectMember),
    ("volume:attachments:update", ProjectMember),
    ("volume:attachments:delete", ProjectMember),
    ("volume:attachments:action", ProjectMember),
    ("volume:availability_zones:list", ProjectReader),
    ("volume:extensions:list", ProjectReader),
    ("volume:limits:show", ProjectReader),
    ("volume:quotas:show", ProjectReader),
    ("volume:quotas:defaults", Authenticated),
    ("volume:quotas:update", Admin),
    ("volume:quotas:delete", Admin),
    ("volume:quota_classes:show", Admin),
    ("volume:quota_classes:update", Admin),
    // Cinder's defaults: transfers are the project's (any member may accept one offered to
    // it with the key), QoS specs and the service/pool/host/capability views are admin only.
    ("volume:transfers:list", ProjectReader),
    ("volume:transfers:show", ProjectReader),
    ("volume:transfers:create", ProjectMember),
    ("volume:transfers:accept", ProjectMember),
    ("volume:transfers:delete", ProjectMember),
    // Backups are the project's; resetting, force-deleting and moving their records
    // (export/import) are Cinder's admin actions.
    ("volume:backups:list", ProjectReader),
    ("volume:backups:detail", ProjectReader),
    ("volume:backups:show", ProjectReader),
    ("volume:backups:create", ProjectMember),
    ("volume:backups:update", ProjectMember),
    ("volume:backups:delete", ProjectMember),
    ("volume:backups:restore", ProjectMember),
    ("volume:backups:action", Admin),
    ("volume:backups:export_record", Admin),
    ("volume:backups:import_record", Admin),
    ("volume:qos_specs:list", Admin),
    ("volume:qos_specs:show", Admin),
    ("volume:qos_specs:create", Admin),
    ("volume:qos_specs:update", Admin),
    ("volume:qos_specs:delete", Admin),
    ("volume:qos_specs:associate", Admin),
    ("volume:qos_specs:disassociate", Admin),
    ("volume:qos_specs:disassociate_all", Admin),
    ("volume:qos_specs:associations", Admin),
    // Generic volume groups: group types and their specs are an admin's (anyone reads the
    // public types); groups and group snapshots are the project's; `reset_status` in the
    // action routes is checked for admins where it is applied.
    ("volume:group_types:list", ProjectReader),
    ("volume:group_types:show", ProjectReader),
    ("volume:group_types:create", Admin),
    ("volume:group_types:update", Admin),
    ("volume:group_types:delete", Admin),
    ("volume:group_types:specs", Admin),
    ("volume:group_types:set_specs", Admin),
    ("volume:group_types:spec", Admin),
    ("volume:group_types:put_spec", Admin),
    ("volume:group_types:delete_spec", Admin),
    ("volume:groups:list", ProjectReader),
    ("volume:groups:detail", ProjectReader),
    ("volume:groups:show", ProjectReader),
    ("volume:groups:create", ProjectMember),
    ("volume:groups:create_from_src", ProjectMember),
    ("volume:groups:update", ProjectMember),
    ("volume:groups:action", ProjectMember),
    ("volume:group_snapshots:list", ProjectReader),
    ("volume:group_snapshots:detail", ProjectReader),
    ("volume:group_snapshots:show", ProjectReader),
    ("volume:group_snapshots:create", ProjectMember),
    ("volume:group_snapshots:delete", ProjectMember),
    ("volume:group_snapshots:action", ProjectMember),
    // User messages are the project's own.
    ("volume:messages:list", ProjectReader),
    ("volume:messages:show", ProjectReader),
    ("volume:messages:delete", ProjectMember),
    ("volume:services:list", Admin),
    ("volume:services:update", Admin),
    ("volume:scheduler_stats:get_pools", Admin),
    ("volume:hosts:list", Admin),
    ("volume:hosts:show", Admin),
    ("volume:capabilities:show", Admin),
    // What a response shows: fields and scopes only some callers get (not routes).
    ("compute:servers:extended_attributes", Admin),
    ("compute:servers:list:all_projects", Admin),
    ("compute:security_groups:list:all_projects", Admin),
    ("compute:instance_actions:events:details", Admin),
    ("network:networks:provider_attributes", Admin),
    ("volume:volumes:host_attribute", Admin),
];

static TABLE: LazyLock<HashMap<&'static str, Rule>> = LazyLock::new(|| POLICIES.iter().copied().collect());

/// The rule of an action; `None` when the table has no entry (the route is refused).
pub fn rule(action: &Action) -> Option<Rule> {
    TABLE.get(action.as_str()).copied()
}

/// Role predicates. Implied roles (`admin` implies `member` implies `reader`) are usually
/// expanded into the token's roles already; they are spelled out here so that a grant of
/// `admin` or `member` alone still reads and writes.
pub fn is_admin(c: &Caller) -> bool {
    c.has_role("admin")
}

pub fn is_member(c: &Caller) -> bool {
    is_admin(c) || c.has_role("member")
}

pub fn is_reader(c: &Caller) -> bool {
    is_member(c) || c.has_role("reader")
}

/// What a resource says about who may see and change it.
pub trait Target {
    /// The kind named in a 404 (`"network"`, `"volume"`, ...), as the service renders it.
    fn kind(&self) -> &'static str;
    fn id(&self) -> &str;
    /// The owning project, if any (flavors and other cloud-wide things have none).
    fn project_id(&self) -> Option<&str>;
    /// The owning user, for user-level things (key pairs, credentials).
    fn user_id(&self) -> Option<&str> {
        None
    }
    /// Whether the resource is visible to `caller` though not owned by its project: public
    /// or shared (with this project) images, shared or external networks, public flavors.
    fn shared_with(&self, _caller: &Caller) -> bool {
        false
    }
}

/// A project-owned thing known only by kind, id and project.
pub struct Owned<'a> {
    pub kind: &'static str,
    pub id: &'a str,
    pub project_id: &'a str,
}

impl Target for Owned<'_> {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn id(&self) -> &str {
        self.id
    }
    fn project_id(&self) -> Option<&str> {
        Some(self.project_id)
    }
}

/// Whether the caller's project owns `project_id`, or the caller is an admin: the one
/// ownership predicate of every service.
pub fn in_project(c: &Caller, project_id: &str) -> bool {
    is_admin(c) || c.project_id() == Some(project_id)
}

/// 403 unless the caller is in `project_id` or an admin: for a project's own settings, where
/// there is no resource to hide (quotas, limits).
pub fn require_in_project(c: &Caller, project_id: &str) -> Result<()> {
    if in_project(c, project_id) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

/// Whether the caller may change what `project_id` owns: a member of that project, or an admin.
pub fn may_write(c: &Caller, project_id: &str) -> bool {
    is_admin(c) || (is_member(c) && c.project_id() == Some(project_id))
}

/// Whether the caller may see the target at all.
pub fn visible(c: &Caller, t: &impl Target) -> bool {
    is_admin(c)
        || t.project_id().is_some_and(|p| c.project_id() == Some(p))
        || t.user_id().is_some_and(|u| c.user_id() == u)
        || t.shared_with(c)
}

impl Caller {
    /// The role part of an action's rule, as checked on every route before its handler.
    pub fn allowed(&self, action: &Action) -> Result<()> {
        let Some(rule) = rule(action) else {
            tracing::error!(%action, "action without a policy entry refused");
            return Err(Error::forbidden());
        };
        let ok = match rule {
            Public | Authenticated | OwnerOrAdmin => true,
            ProjectReader => is_reader(self),
            ProjectMember => is_member(self),
            Admin => is_admin(self),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::forbidden())
        }
    }

    /// Whether the role part of `action`'s rule admits the caller: for what a response
    /// shows (admin-only fields, other projects' items), decided by the same table.
    pub fn may(&self, action: &str) -> bool {
        self.allowed(&Action::from(action)).is_ok()
    }

    /// A project named in the URL (Cinder's `/v3/{project_id}/...`) must be the token's:
    /// another one is a malformed URL (400), as Cinder answers. Admins may name any.
    pub fn check_url_project(&self, project_id: &str) -> Result<()> {
        if is_admin(self) || self.project_id() == Some(project_id) {
            Ok(())
        } else {
            Err(Error::bad_request("Malformed request url"))
        }
    }

    /// The whole rule of `action` on a loaded resource: 404 when the caller may not see it,
    /// 403 when it sees it but the rule refuses the action.
    pub fn authorize(&self, action: &str, target: &impl Target) -> Result<()> {
        let action = Action::from(action);
        let hidden = || Error::not_found(target.kind(), target.id());
        let Some(rule) = rule(&action) else {
            tracing::error!(%action, "action without a policy entry refused");
            return Err(Error::forbidden());
        };
        let owner_project = target.project_id().is_some_and(|p| self.project_id() == Some(p));
        match rule {
            Public | Authenticated => Ok(()),
            ProjectReader if is_admin(self) || (is_reader(self) && (owner_project || target.shared_with(self))) => {
                Ok(())
            }
            ProjectMember | Admin if is_admin(self) => Ok(()),
            ProjectMember if is_member(self) && owner_project => Ok(()),
            OwnerOrAdmin if is_admin(self) || target.user_id().is_some_and(|u| u == self.user_id()) => Ok(()),
            _ if visible(self, target) => Err(Error::forbidden()),
            _ => Err(hidden()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_unique() {
        assert_eq!(TABLE.len(), POLICIES.len(), "an action is listed twice");
    }
}
