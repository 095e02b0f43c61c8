//! The agent's integration tests in one test binary (one link instead of three).

mod fake_cloud;
mod fake_network;
mod vm_tasks;
