//! The running stand-in: binds 127.0.0.1, serves every request through the handlers, and
//! offers the [`KubeHandle`] to the simulator. Owns the lock around the store and shutdown; it
//! must not interpret requests (that is `handlers.rs`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::hook::RequestHook;
use super::rbac::{Policy, RbacState};
use super::store::KubeObjects;
use super::{Reconciler, handlers, kubeconfig};

/// How long shutdown waits for open connections (watches end at once on the stop signal).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// What the request handlers share.
pub(crate) struct Shared {
    store: Mutex<KubeObjects>,
    pub reconciler: Arc<dyn Reconciler>,
    pub stop: CancellationToken,
    /// Open watch streams (see [`KubeHandle::open_watches`]).
    pub watches: AtomicUsize,
    /// Set once by [`KubeHandle::set_hook`].
    pub hook: OnceLock<Arc<dyn RequestHook>>,
    /// The RBAC mode ([`KubeHandle::set_rbac`]).
    pub rbac: RbacState,
}

impl Shared {
    /// The store, locked. A panic in a reconciler poisons the mutex; the store is still
    /// consistent object by object, so serving goes on rather than failing every request.
    pub fn lock(&self) -> MutexGuard<'_, KubeObjects> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs the reconciler on the locked store.
    pub fn reconcile(&self, store: &mut KubeObjects) {
        self.reconciler.reconcile(store);
    }
}

/// A running stand-in.
pub struct KubeHandle {
    url: String,
    shared: Arc<Shared>,
    /// Taken by [`KubeHandle::shutdown`]; a handle dropped without it still stops serving.
    server: Option<JoinHandle<()>>,
}

impl Drop for KubeHandle {
    fn drop(&mut self) {
        // Nobody can reach the store any more; let the server wind down on its own.
        self.shared.stop.cancel();
    }
}

impl KubeHandle {
    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs the reconciler now (for time-driven changes such as pods becoming ready).
    pub fn reconcile_now(&self) {
        let mut store = self.shared.lock();
        self.shared.reconcile(&mut store);
    }

    /// Runs `f` with the store locked (seeding objects, reading state for checks). Does not
    /// run the reconciler afterwards; call [`KubeHandle::reconcile_now`] for that.
    pub fn with_objects<R>(&self, f: impl FnOnce(&mut KubeObjects) -> R) -> R {
        let mut store = self.shared.lock();
        f(&mut store)
    }

    /// Writes a kubeconfig (cluster, user, context named `context`, namespace `namespace`)
    /// pointing at this server, to `path`.
    pub fn write_kubeconfig(
        &self,
        path: &std::path::Path,
        context: &str,
        namespace: &str,
    ) -> std::io::Result<()> {
        kubeconfig::write(path, &self.url, context, namespace)
    }

    /// Stops serving: open watches end, then connections get a short grace period.
    pub async fn shutdown(mut self) {
        self.shared.stop.cancel();
        let Some(mut server) = self.server.take() else {
            return;
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
    }

    /// Installs the request hook (faults, request log); a second call is ignored, so the
    /// hook cannot change under a running request.
    pub fn set_hook(&self, hook: Arc<dyn RequestHook>) {
        let _ = self.shared.hook.set(hook);
    }

    /// Enforces `policy` on every resource request from now on (`None`: everything is
    /// allowed again); forgets the requests denied so far.
    pub fn set_rbac(&self, policy: Option<Policy>) {
        self.shared.rbac.set(policy);
    }

    /// Whether a policy is enforced, and the 403 messages of the requests it denied.
    pub fn rbac_denied(&self) -> (bool, Vec<String>) {
        (self.shared.rbac.enabled(), self.shared.rbac.denied())
    }

    /// How many watches are streaming now (tests check that they end).
    pub fn open_watches(&self) -> usize {
        self.shared.watches.load(Ordering::SeqCst)
    }
}

/// Starts the stand-in on `127.0.0.1:port` (0 = any free port). The seed objects are stored
/// (as with [`KubeObjects::put`]) and the reconciler runs once before the first request.
pub async fn start(
    port: u16,
    reconciler: Arc<dyn Reconciler>,
    seed: Vec<Value>,
) -> std::io::Result<KubeHandle> {
    let mut store = KubeObjects::new();
    for object in seed {
        store.put(object);
    }
    reconciler.reconcile(&mut store);
    let shared = Arc::new(Shared {
        store: Mutex::new(store),
        reconciler,
        stop: CancellationToken::new(),
        watches: AtomicUsize::new(0),
        hook: OnceLock::new(),
        rbac: RbacState::default(),
    });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = handlers::router(shared.clone());
    let stop = shared.stop.clone();
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
        if let Err(error) = serve.await {
            tracing::warn!(%error, "sim/kube: server stopped with an error");
        }
    });
    Ok(KubeHandle {
        url,
        shared,
        server: Some(server),
    })
}
