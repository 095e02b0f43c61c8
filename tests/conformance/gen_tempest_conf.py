#!/usr/bin/env python3
"""Write a tempest.conf for running Tempest against a Ciel server.

Called by run.sh with the values it discovered from the running server; it can
also be run by hand. Only the Python standard library is used.

Every option can be given as a command-line argument; the defaults of the
security-compliance values match Ciel's bootstrap defaults (and run.sh passes
them explicitly). Options that are not given fall back to environment
variables where noted (CIEL_IDENTITY_EXTENSIONS).

Example:
  gen_tempest_conf.py --output etc/tempest.conf \\
      --identity-uri http://127.0.0.1:5000/identity/v3 --admin-password secret \\
      --service nova=false --service glance=false
"""

import argparse
import configparser
import os
import sys

# Services tempest (or a tempest plugin) knows in [service_available].
# Options of plugins that are not installed are ignored by tempest.
SERVICES = (
    "nova", "glance", "neutron", "cinder", "swift", "octavia", "horizon",
    "heat", "designate", "barbican", "manila", "ironic", "placement",
    "aodh", "gnocchi", "panko", "ceilometer", "sahara", "trove", "zaqar",
    "mistral", "murano", "senlin", "watcher", "magnum", "zun", "cyborg",
)


def parse_bool(text):
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError("not a boolean: %r" % text)


def service_arg(text):
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(
            "expected NAME=true|false, got %r" % text)
    return name.strip(), parse_bool(value)


def set_arg(text):
    key, sep, value = text.partition("=")
    section, dot, option = key.rpartition(".")
    if not sep or not dot or not section or not option:
        raise argparse.ArgumentTypeError(
            "expected SECTION.OPTION=VALUE, got %r" % text)
    return section, option, value


def oslo_escape(value):
    # oslo.config substitutes $name / ${name} in values; $$ is a literal $.
    return str(value).replace("$", "$$")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--output", "-o", required=True,
                   help="path of the tempest.conf to write ('-' = stdout)")
    p.add_argument("--workspace",
                   help="tempest workspace directory (sets lock_path and "
                        "log_dir below it)")
    p.add_argument("--identity-uri", required=True,
                   help="Keystone v3 URL, e.g. http://127.0.0.1:PORT/identity/v3")
    p.add_argument("--region", default="RegionOne")
    p.add_argument("--admin-username", default="admin")
    p.add_argument("--admin-password", required=True)
    p.add_argument("--admin-project-name", default="admin")
    p.add_argument("--admin-domain-name", default="Default")
    # Security compliance: must equal the server's settings.
    p.add_argument("--lockout-failure-attempts", type=int, default=2)
    p.add_argument("--lockout-duration", type=int, default=5)
    p.add_argument("--unique-last-password-count", type=int, default=2)
    p.add_argument("--minimum-password-age", type=int, default=0)
    p.add_argument("--identity-extensions",
                   default=os.environ.get("CIEL_IDENTITY_EXTENSIONS",
                                          "OS-INHERIT"),
                   help="value of [identity-feature-enabled] api_extensions "
                        "(default: $CIEL_IDENTITY_EXTENSIONS or OS-INHERIT)")
    p.add_argument("--service", type=service_arg, action="append", default=[],
                   metavar="NAME=BOOL",
                   help="[service_available] NAME (repeatable); services "
                        "not given are false")
    p.add_argument("--image-ref")
    p.add_argument("--image-format-enforcement", default="true")
    p.add_argument("--image-ref-alt")
    p.add_argument("--compute-max-microversion", default="latest",
                   help="[compute] max_microversion: the newest the server "
                        "advertises (default latest)")
    p.add_argument("--volume-max-microversion", default="3.0",
                   help="[volume] max_microversion (default 3.0: Tempest sends "
                        "no header and reads 3.0 bodies)")
    p.add_argument("--volume-backends",
                   help="[volume] backend_names with multi_backend on: two or more "
                        "backends the volume types can name (comma-separated), e.g. "
                        "file,rbd when a Ceph cluster is there")
    p.add_argument("--flavor-ref")
    p.add_argument("--flavor-ref-alt")
    p.add_argument("--public-network-id")
    p.add_argument("--public-network-name")
    p.add_argument("--network-extensions",
                   help="[network-feature-enabled] api_extensions: the "
                        "aliases the server lists (comma-separated)")
    p.add_argument("--volume-extensions",
                   help="[volume-feature-enabled] api_extensions: the aliases the "
                        "volume service lists (comma-separated)")
    p.add_argument("--lb-provider",
                   help="[load_balancer] provider: the provider the "
                        "octavia-tempest-plugin creates load balancers with")
    p.add_argument("--lb-providers",
                   help="[load_balancer] enabled_provider_drivers: NAME:"
                        "DESCRIPTION pairs, comma-separated (exactly the "
                        "server's /providers)")
    p.add_argument("--lb-flavor-capability",
                   help="[load_balancer] expected_flavor_capability "
                        "(NAME:DESCRIPTION)")
    p.add_argument("--lb-az-capability",
                   help="[load_balancer] expected_availability_zone_capability "
                        "(NAME:DESCRIPTION)")
    p.add_argument("--run-validation", type=parse_bool, default=False,
                   help="[validation] run_validation (default false)")
    # Several compute hosts and moving servers between them (run.sh --suite migration).
    p.add_argument("--compute-nodes", type=int, default=1,
                   help="[compute] min_compute_nodes: the compute hosts up (default "
                        "1); 2 or more turns on Tempest's multi-node tests")
    p.add_argument("--live-migration", type=parse_bool, default=False,
                   help="[compute-feature-enabled] live_migration (default false)")
    p.add_argument("--block-migration", type=parse_bool, default=False,
                   help="[compute-feature-enabled] block_migration_for_live_migration "
                        "(default false): root disks are on each host, not shared")
    p.add_argument("--volume-backed-live-migration", type=parse_bool, default=False,
                   help="[compute-feature-enabled] volume_backed_live_migration "
                        "(default false): boot volumes are on shared storage")
    p.add_argument("--cold-migration", type=parse_bool, default=False,
                   help="[compute-feature-enabled] cold_migration (default false)")
    p.add_argument("--migration-hosts", metavar="SOURCE,DEST",
                   help="[compute] migration_source_host and migration_dest_host: "
                        "the hosts of the scenario tests that migrate between two "
                        "given hosts")
    p.add_argument("--set", type=set_arg, action="append", default=[],
                   metavar="SECTION.OPTION=VALUE",
                   help="extra option, applied last (repeatable)")
    args = p.parse_args(argv)

    avail = {name: False for name in SERVICES}
    for name, value in args.service:
        avail[name] = value
    nova, glance = avail["nova"], avail["glance"]
    neutron, cinder = avail["neutron"], avail["cinder"]

    conf = configparser.RawConfigParser()
    conf.optionxform = str  # keep option names as written

    def put(section, option, value):
        if value is None:
            return
        if section != "DEFAULT" and not conf.has_section(section):
            conf.add_section(section)
        if isinstance(value, bool):
            value = "true" if value else "false"
        conf.set(section, option, oslo_escape(value))

    put("DEFAULT", "log_file", "tempest.log")
    put("DEFAULT", "debug", True)
    if args.workspace:
        ws = os.path.abspath(args.workspace)
        put("DEFAULT", "log_dir", os.path.join(ws, "logs"))
        put("oslo_concurrency", "lock_path", os.path.join(ws, "tempest_lock"))

    # --- credentials
    put("auth", "use_dynamic_credentials", True)
    put("auth", "create_isolated_networks", neutron)
    put("auth", "admin_username", args.admin_username)
    put("auth", "admin_password", args.admin_password)
    put("auth", "admin_project_name", args.admin_project_name)
    put("auth", "admin_domain_name", args.admin_domain_name)
    put("auth", "default_credentials_domain_name", args.admin_domain_name)

    # --- identity
    put("identity", "uri_v3", args.identity_uri)
    put("identity", "auth_version", "v3")
    put("identity", "region", args.region)
    put("identity", "v3_endpoint_type", "public")
    put("identity", "disable_ssl_certificate_validation", True)
    put("identity", "user_lockout_failure_attempts",
        args.lockout_failure_attempts)
    put("identity", "user_lockout_duration", args.lockout_duration)
    put("identity", "user_unique_last_password_count",
        args.unique_last_password_count)
    put("identity", "user_minimum_password_age", args.minimum_password_age)

    fe = "identity-feature-enabled"
    put(fe, "api_v2", False)
    put(fe, "api_v3", True)
    put(fe, "security_compliance", True)
    put(fe, "trust", False)
    put(fe, "access_rules", False)
    put(fe, "domain_specific_drivers", False)
    # The tempest option is 'api_extensions' (there is no api_v3_extensions);
    # it gates e.g. OS-INHERIT and OS-EC2 tests.
    put(fe, "api_extensions", args.identity_extensions)
    # Not options of current tempest (removed once the features became
    # unconditional); kept for older tempest releases, ignored otherwise.
    put(fe, "application_credentials", True)
    put(fe, "project_tags", True)
    put(fe, "external_idp", False)

    # --- which services exist
    for name in SERVICES:
        put("service_available", name, avail[name])

    # --- compute
    if nova:
        put("compute", "region", args.region)
        put("compute", "image_ref", args.image_ref)
        put("compute", "image_ref_alt", args.image_ref_alt)
        put("compute", "flavor_ref", args.flavor_ref)
        put("compute", "flavor_ref_alt", args.flavor_ref_alt)
        put("compute", "max_microversion", args.compute_max_microversion)
        # No fixed_network_name: servers go on the network Tempest creates for each
        # test project (create_isolated_networks).
        put("compute", "build_timeout", 120)
        # What Ciel's compute does, honestly: migrations only where the run has the hosts
        # and storage for them (--suite migration), no consoles but the serial log, no
        # password injection.
        cf = "compute-feature-enabled"
        put(cf, "console_output", True)
        put(cf, "resize", True)
        put(cf, "cold_migration", args.cold_migration)
        put(cf, "live_migration", args.live_migration)
        put(cf, "block_migration_for_live_migration", args.block_migration)
        put(cf, "change_password", False)
        put(cf, "snapshot", True)
        put(cf, "pause", True)
        put(cf, "suspend", False)
        put(cf, "shelve", False)
        put(cf, "shelve_migrate", False)
        put(cf, "rescue", False)
        put(cf, "interface_attach", False)
        put(cf, "attach_encrypted_volume", False)
        put(cf, "config_drive", True)
        put(cf, "metadata_service", True)
        put(cf, "personality", False)
        put(cf, "vnc_console", False)
        put(cf, "spice_console", False)
        put(cf, "serial_console", False)
        put(cf, "disk_config", False)
        put(cf, "volume_multiattach", False)
        put(cf, "volume_backed_live_migration", args.volume_backed_live_migration)
        multinode = args.compute_nodes >= 2
        put("compute", "min_compute_nodes", args.compute_nodes)
        # Every host can take any server: the tests name the destination host (and the
        # ones of LiveMigrationWithoutHostTest let the scheduler pick it), and migrate back
        # to where the server came from.
        put(cf, "can_migrate_between_any_hosts", multinode)
        put(cf, "live_migrate_back_and_forth", multinode and args.live_migration)
        if multinode:
            # The scheduler hints and server group policies Ciel's scheduler applies.
            put(cf, "scheduler_enabled_filters",
                "AvailabilityZoneFilter,ComputeFilter,ServerGroupAntiAffinityFilter,"
                "ServerGroupAffinityFilter,SameHostFilter,DifferentHostFilter")
        if args.migration_hosts:
            src, _, dst = args.migration_hosts.partition(",")
            put("compute", "migration_source_host", src)
            put("compute", "migration_dest_host", dst)
        put(cf, "stable_rescue", False)
        put(cf, "hostname_fqdn_sanitization", False)
        put(cf, "swap_volume", False)
        put(cf, "unified_limits", False)
        put(cf, "ide_bus", False)
        put(cf, "enable_instance_password", True)
    # SSH into guests over floating IPs (the small test guest runs dropbear for root).
    put("validation", "run_validation", args.run_validation)
    if args.run_validation:
        put("validation", "connect_method", "floating")
        put("validation", "auth_method", "keypair")
        put("validation", "image_ssh_user", "root")
        put("validation", "image_alt_ssh_user", "root")
        put("validation", "ip_version_for_ssh", 4)
        put("validation", "ssh_timeout", 240)
        put("validation", "connect_timeout", 30)
        put("validation", "ping_timeout", 180)

    # --- image
    if glance:
        put("image", "region", args.region)
        put("image-feature-enabled", "image_format_enforcement", args.image_format_enforcement)

    # --- network
    if neutron:
        put("network", "region", args.region)
        put("network", "public_network_id", args.public_network_id)
        put("network", "floating_network_name", args.public_network_name)
        put("network", "project_network_cidr", "10.100.0.0/16")
        put("network", "project_network_mask_bits", 28)
        put("network", "project_networks_reachable", False)
        put("network-feature-enabled", "api_extensions", args.network_extensions)
        put("network-feature-enabled", "ipv6", True)
    put("network-feature-enabled", "ipv6_subnet_attributes", True)

    # --- volume
    put("volume", "catalog_type", "block-storage")
    if cinder:
        put("volume", "region", args.region)
        # 3.0 unless asked (CIEL_VOLUME_MAX_MICROVERSION): Tempest then sends no header and
        # reads 3.0 bodies; a higher one also runs the tests of the microversions up to it.
        put("volume", "max_microversion", args.volume_max_microversion)
        put("volume", "build_interval", 1)
        put("volume", "build_timeout", 120)
        put("volume", "volume_size", 1)
        # What Ciel's file and LVM backends report (capabilities): Tempest's volume types
        # with these extra specs must find a backend (its default, iSCSI, would not).
        put("volume", "storage_protocol", "local")
        put("volume", "vendor_name", "Open Source")
        put("volume", "disk_format", "raw,qcow2")
        vf = "volume-feature-enabled"
        put(vf, "backup", True)
        put("volume", "backup_driver", "posix")
        put(vf, "snapshot", True)
        put(vf, "clone", True)
        # With two backends (the rbd run: host files and Ceph) Tempest's multi-backend and
        # retype-with-migration tests run: volume types name each by volume_backend_name.
        if args.volume_backends:
            put(vf, "multi_backend", True)
            put("volume", "backend_names", args.volume_backends)
        else:
            put(vf, "multi_backend", False)
        put(vf, "manage_snapshot", False)
        put(vf, "manage_volume", False)
        put(vf, "extend_attached_volume", True)
        put(vf, "api_extensions", args.volume_extensions)
        put("compute", "volume_device_name", "vdb")

    # --- load balancer (octavia-tempest-plugin)
    if avail["octavia"]:
        put("service_available", "load_balancer", True)
        lb = "load_balancer"
        put(lb, "region", args.region)
        put(lb, "provider", args.lb_provider)
        put(lb, "enabled_provider_drivers", args.lb_providers)
        put(lb, "expected_flavor_capability", args.lb_flavor_capability)
        put(lb, "expected_availability_zone_capability", args.lb_az_capability)
        # Keystone's reader/member/admin roles, as Ciel's policy table has them.
        put(lb, "RBAC_test_type", "keystone_default_roles")
        # The real provider: haproxy in a namespace on the network node.
        put(lb, "test_with_noop", False)
        put(lb, "test_with_ipv6", False)
        put(lb, "loadbalancer_topology", "SINGLE")
        # Ciel's one compute availability zone: the plugin's availability zone tests make
        # profiles for it (with amphora's management_network, which Ciel's provider refuses).
        put(lb, "availability_zone", "nova")
        # Ciel's state machine turns over in about a second: poll often.
        put(lb, "lb_build_interval", 1)
        put(lb, "lb_build_timeout", 120)
        put(lb, "build_interval", 1)
        put(lb, "build_timeout", 120)
        put(lb, "check_interval", 1)
        put(lb, "check_timeout", 120)
        lf = "loadbalancer-feature-enabled"
        # A 501 (an option Ciel's provider does not offer, as Octavia's drivers say it)
        # makes the test a skip, as upstream's gates for providers other than amphora.
        put(lf, "not_implemented_is_error", False)
        put(lf, "terminated_tls_enabled", False)
        put(lf, "prometheus_listener_enabled", False)
        put(lf, "log_offload_enabled", False)
        put(lf, "spare_pool_enabled", False)
        put(lf, "l7_protocol_enabled", True)
        put(lf, "health_monitor_enabled", True)
        put(lf, "session_persistence_enabled", True)
        put("service_available", "barbican", False)
        put("enforce_scope", "octavia", False)

    for section, option, value in args.set:
        if section != "DEFAULT" and not conf.has_section(section):
            conf.add_section(section)
        conf.set(section, option, value)  # verbatim, no $ escaping

    if args.output == "-":
        conf.write(sys.stdout)
    else:
        out_dir = os.path.dirname(os.path.abspath(args.output))
        os.makedirs(out_dir, exist_ok=True)
        with open(args.output, "w") as f:
            f.write("# Generated by tests/conformance/gen_tempest_conf.py\n")
            conf.write(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
