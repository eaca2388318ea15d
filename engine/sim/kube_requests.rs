//! sim/kube_requests: the simulator's hook on the Kubernetes stand-in. Kubernetes API requests
//! go through the same armed faults (component `kubernetes`), in-flight list and request log as
//! the product ports, so a scenario can fail any kubectl call and a sweep can see every call a
//! run made. It owns only that bookkeeping; the `Status` bodies are `kube::status`, the cluster
//! rules `workloads`.

use super::faults::KUBERNETES;
use super::kube::{Answer, Interference, RequestHook, RequestLine};
use super::model::{Component, Shared, lock};

/// The hook installed on the stand-in by `start`.
pub struct KubeRequests {
    shared: Shared,
}

impl KubeRequests {
    pub fn new(shared: Shared) -> Self {
        KubeRequests { shared }
    }
}

impl RequestHook for KubeRequests {
    fn arrived(&self, request: &RequestLine) -> Interference {
        let mut world = lock(&self.shared);
        world.in_flight.push((
            Component::Kubernetes,
            request.method.clone(),
            request.path_and_query(),
        ));
        let Some(action) = world
            .faults
            .take(KUBERNETES, &request.method, &request.path)
        else {
            return Interference::default();
        };
        let answer = if action.drop_connection {
            Some(Answer::Drop)
        } else {
            action.status.map(|code| Answer::Status {
                code,
                message: action.message,
            })
        };
        Interference {
            latency_ms: action.latency_ms,
            answer,
        }
    }

    fn answered(&self, request: &RequestLine, status: u16) {
        let mut world = lock(&self.shared);
        let flight = (
            Component::Kubernetes,
            request.method.clone(),
            request.path_and_query(),
        );
        if let Some(i) = world.in_flight.iter().position(|f| *f == flight) {
            world.in_flight.remove(i);
        }
        world.log_request(
            Component::Kubernetes,
            &request.method,
            &request.path_and_query(),
            status,
        );
    }
}
