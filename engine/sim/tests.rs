//! sim/tests: end-to-end tests of the simulator over real HTTP on 127.0.0.1 (reqwest). Each test
//! starts its own simulator on ephemeral ports, every wait is bounded, and nothing leaves
//! 127.0.0.1. Grouped by surface: 8.8 orchestration, Optimize, datastore, 8.7, oracle, faults.

mod chart_install;
mod common;
mod datastore_api;
mod faults_api;
mod installation_indices;
mod kube_faults;
mod kube_flow;
mod long_restores;
mod optimize_api;
mod oracle_flow;
mod orchestration;
mod restore_crash_loop;
mod schedule_404;
mod snapshot_partial;
mod v810;
mod v87;
mod v89;
