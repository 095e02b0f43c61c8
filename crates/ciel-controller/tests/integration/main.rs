//! The controller's integration tests, one module per subject, in one test binary: linking
//! the controller into each of eighteen binaries took most of CI's `cargo test` step.
//! Run one subject with `cargo test --release -p ciel-controller --test integration suspend::`.

mod common;

mod cluster;
mod cold_migration;
mod compute;
mod compute_params;
mod compute_servers;
mod every_route;
mod identity;
mod identity_validation;
mod image;
mod input_validation;
mod listings;
mod live_migration;
mod loadbalancer;
mod network;
mod network_validation;
mod observability;
mod suspend;
mod volume_admin;
mod volume_backups;
mod volume_groups;
mod volume_migration;
