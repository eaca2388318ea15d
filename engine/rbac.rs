//! rbac: the least-privilege Kubernetes Role a set of plans needs (`runbook rbac`). Three
//! concepts, one file each: which API calls one kubectl command line makes
//! (`kubectl_calls.rs`, checked against the real kubectl with `-v=6`), which command lines a
//! plan can run (`walk.rs`: every step, `finally`, `undo`, `before_retry` and wait probe, and
//! the port-forwards of HTTP targets), and the ServiceAccount + Role + RoleBinding printed from
//! them (`manifest.rs`). It runs nothing and reads no cluster; it sits after `run` (it
//! renders arguments as a run would) and before `cli`.

pub mod kubectl_calls;
pub mod manifest;
pub mod walk;

/// One kind of API request: verb on `group`/`resource` (with `subresource`, e.g. `scale`),
/// as RBAC names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiCall {
    /// `""` for the core group.
    pub group: &'static str,
    /// The plural resource name (`statefulsets`, `pods`).
    pub resource: &'static str,
    pub subresource: Option<&'static str>,
    pub verb: &'static str,
}

impl ApiCall {
    /// `resource` or `resource/subresource`, as a Role's `resources` lists it.
    pub fn resource_path(&self) -> String {
        match self.subresource {
            Some(sub) => format!("{}/{sub}", self.resource),
            None => self.resource.to_string(),
        }
    }
}
