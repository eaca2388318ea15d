//! The request hook: lets the code that embeds the stand-in watch every request (arrival and
//! answer) and interfere with it (hold it, answer an API-server error, drop the connection),
//! the way a stressed API server would. It owns only the hook's contract; what the errors look
//! like is `status.rs`, when to interfere is the embedder's decision.

/// One request as the hook sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLine {
    /// Upper-case HTTP method (`GET`, `PATCH`, ...).
    pub method: String,
    /// The URL path without the query string, e.g. `/apis/apps/v1/namespaces/x/statefulsets`.
    pub path: String,
    /// The query string without `?`; empty when there is none.
    pub query: String,
}

impl RequestLine {
    /// The path with its query string (what a request log shows).
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}

/// How the API server answers instead of serving the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A `Status` error with this HTTP code (`message` replaces the usual text for the code;
    /// see `ApiError::injected`).
    Status { code: u16, message: Option<String> },
    /// Close the connection without an answer.
    Drop,
}

/// What to do with one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interference {
    /// Hold the request this long first.
    pub latency_ms: u64,
    /// Answer this instead of serving (after the latency); `None` serves normally.
    pub answer: Option<Answer>,
}

/// Sees every request the stand-in serves. Called without the store locked.
pub trait RequestHook: Send + Sync + 'static {
    /// A request arrived; what to do with it.
    fn arrived(&self, request: &RequestLine) -> Interference;
    /// The request was answered with `status` (0: the connection was dropped). A watch counts
    /// as answered when its stream starts.
    fn answered(&self, request: &RequestLine, status: u16);
}
