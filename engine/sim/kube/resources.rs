//! The resource registry: which resources (plural names in URLs) the stand-in serves, with
//! their group, version, Kind, scope and short names. Discovery, routing and tables read it;
//! it must not hold objects or answer requests itself.

/// A subresource served under a resource (`pods/log`, `statefulsets/scale`).
pub(crate) struct Subresource {
    pub name: &'static str,
    /// Kind of the subresource object and its group/version when they differ from the parent
    /// (`Scale` in `autoscaling/v1`).
    pub kind: &'static str,
    pub group_version: Option<(&'static str, &'static str)>,
    pub verbs: &'static [&'static str],
}

/// One served resource.
pub(crate) struct Resource {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [Subresource],
}

impl Resource {
    /// `apiVersion` of its objects (`v1`, `apps/v1`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The name kubectl prints in messages: `pods`, `statefulsets.apps`.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn has_subresource(&self, name: &str) -> bool {
        self.subresources.iter().any(|s| s.name == name)
    }
}

/// What every served resource supports (deletecollection is not implemented, so not listed).
pub(crate) const VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

const STATUS: Subresource = Subresource {
    name: "status",
    kind: "",
    group_version: None,
    verbs: &["get", "patch", "update"],
};

const SCALE: Subresource = Subresource {
    name: "scale",
    kind: "Scale",
    group_version: Some(("autoscaling", "v1")),
    verbs: &["get", "patch", "update"],
};

const fn core(
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    short_names: &'static [&'static str],
    subresources: &'static [Subresource],
) -> Resource {
    Resource {
        group: "",
        version: "v1",
        plural,
        singular,
        kind,
        namespaced: true,
        short_names,
        categories: &[],
        subresources,
    }
}

/// Every served resource. Pods, services, StatefulSets and Deployments are in the `all`
/// category, as on a real server (`kubectl get all`).
pub(crate) static RESOURCES: &[Resource] = &[
    Resource {
        categories: &["all"],
        ..core(
            "pods",
            "pod",
            "Pod",
            &["po"],
            &[
                Subresource {
                    name: "log",
                    kind: "Pod",
                    group_version: None,
                    verbs: &["get"],
                },
                Subresource {
                    name: "portforward",
                    kind: "PodPortForwardOptions",
                    group_version: None,
                    verbs: &["create", "get"],
                },
                STATUS,
            ],
        )
    },
    Resource {
        categories: &["all"],
        ..core("services", "service", "Service", &["svc"], &[STATUS])
    },
    core(
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        &["pvc"],
        &[STATUS],
    ),
    core("configmaps", "configmap", "ConfigMap", &["cm"], &[]),
    core("secrets", "secret", "Secret", &[], &[]),
    Resource {
        namespaced: false,
        ..core("namespaces", "namespace", "Namespace", &["ns"], &[STATUS])
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "statefulsets",
        singular: "statefulset",
        kind: "StatefulSet",
        namespaced: true,
        short_names: &["sts"],
        categories: &["all"],
        subresources: &[SCALE, STATUS],
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "deployments",
        singular: "deployment",
        kind: "Deployment",
        namespaced: true,
        short_names: &["deploy"],
        categories: &["all"],
        subresources: &[SCALE, STATUS],
    },
];

/// The resource served at `group`/`version`/`plural`.
pub(crate) fn by_plural(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The API groups served besides the core group, with their versions, in discovery order.
pub(crate) fn groups() -> Vec<(&'static str, &'static str)> {
    let mut groups: Vec<(&'static str, &'static str)> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        if !groups.contains(&(r.group, r.version)) {
            groups.push((r.group, r.version));
        }
    }
    groups
}
