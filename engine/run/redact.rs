//! redact: masking for display (terminal, logs, reports, dry runs, error texts). It replaces
//! each known secret and its derived forms (percent-encoded, JSON-escaped, base64) with
//! `***`, and always masks the credential of an `Authorization`-style `Basic`/`Bearer`/`ApiKey`
//! token.
//! A secret shorter than [`MIN_MASKED_CHARS`] is not masked inside free text: replacing every
//! `camunda` in a log would both tell the reader the password and mangle snapshot names;
//! the run warns about such a secret instead. Display only: stored data resume reads is
//! sealed reversibly by `sealed`, never masked here.

/// Secrets shorter than this are not masked inside free text (see the module doc).
pub const MIN_MASKED_CHARS: usize = 8;

/// Knows the secret values of one run.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// Every form to mask, longest first, so a form containing another is replaced whole.
    forms: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: Vec<String>) -> Self {
        let mut r = Self::default();
        for s in secrets {
            r.add(s);
        }
        r
    }

    /// Whether `secret` is masked inside free text.
    pub fn masks(secret: &str) -> bool {
        secret.chars().count() >= MIN_MASKED_CHARS
    }

    pub fn add(&mut self, secret: String) {
        if !Self::masks(&secret) {
            return;
        }
        remember_for_logs(&secret);
        for form in derived_forms(&secret) {
            if !self.forms.contains(&form) {
                self.forms.push(form);
            }
        }
        self.forms.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.forms {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        mask_auth_tokens(&out)
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }
}

/// Every secret any `Redactor` of this process was given, for the log writer: tracing events
/// are formatted far from the run that knows the secrets (an executor logs a URL or a body),
/// so the logging layer masks every line with this union before it reaches stderr.
static LOG_MASK: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn remember_for_logs(secret: &str) {
    let mut known = LOG_MASK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !known.iter().any(|k| k == secret) {
        known.push(secret.to_string());
    }
}

/// Masks a log line with every secret this process knows (and any `Basic`/`Bearer`/`ApiKey`
/// token).
pub fn mask_for_logs(text: &str) -> String {
    let known = LOG_MASK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let mut r = Redactor::default();
    for secret in known {
        for form in derived_forms(&secret) {
            if !r.forms.contains(&form) {
                r.forms.push(form);
            }
        }
    }
    r.forms.sort_by_key(|s| std::cmp::Reverse(s.len()));
    r.apply(text)
}

/// The secret as it appears raw, percent-encoded (both RFC 3986 and form encoding),
/// JSON-escaped and base64-encoded.
fn derived_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    forms.push(percent_encode(secret));
    forms.push(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect());
    if let Ok(json) = serde_json::to_string(secret) {
        forms.push(json[1..json.len() - 1].to_string());
    }
    forms.push(base64(secret.as_bytes()).trim_end_matches('=').to_string());
    forms.extend(url_forms(secret));
    forms.sort();
    forms.dedup();
    forms
}

/// The secret as a URL parser writes it into a path and into a query: fewer characters are
/// encoded there than by `percent_encode` (a `/` or `@` stays), so a templated path such as
/// `/login/{{params.password}}` shows neither of the forms above.
fn url_forms(secret: &str) -> Vec<String> {
    let Ok(mut url) = url::Url::parse("http://h/") else {
        return Vec::new();
    };
    url.set_path(secret);
    let path = url.path().trim_start_matches('/').to_string();
    url.set_query(Some(secret));
    let query = url.query().unwrap_or_default().to_string();
    // An empty form would mask between every character.
    [path, query]
        .into_iter()
        .filter(|f| !f.is_empty())
        .collect()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Masks the credential after `Basic `, `Bearer ` or `ApiKey ` (any case): a known-secret position,
/// masked whatever its value (a server may echo an `Authorization` header in an error body).
fn mask_auth_tokens(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some((start, scheme)) = ["basic ", "bearer ", "apikey "]
        .iter()
        .filter_map(|s| lower[at..].find(s).map(|i| (at + i, s.len())))
        .min()
    {
        let token_start = start + scheme;
        let token_len = text[token_start..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || b"+/=-._~".contains(b))
            .count();
        out.push_str(&text[at..token_start]);
        // Short words after "basic" are prose ("basic idea"), not credentials.
        if token_len >= 8 {
            out.push_str("***");
        } else {
            out.push_str(&text[token_start..token_start + token_len]);
        }
        at = token_start + token_len;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_form_of_a_secret() {
        let r = Redactor::new(vec!["p@ss w\"rd/42".into(), "camunda".into()]);
        assert_eq!(r.apply("pw=p@ss w\"rd/42"), "pw=***");
        assert_eq!(r.apply("u=p%40ss%20w%22rd%2F42"), "u=***");
        assert_eq!(r.apply("f=p%40ss+w%22rd%2F42"), "f=***");
        assert_eq!(r.apply(r#"{"pw":"p@ss w\"rd/42"}"#), r#"{"pw":"***"}"#);
        assert_eq!(r.apply(&base64(b"p@ss w\"rd/42")), "***");
        // Short: not masked inside free text.
        assert_eq!(r.apply("camunda_webapps_1"), "camunda_webapps_1");
    }

    #[test]
    fn authorization_credentials_are_always_masked() {
        let r = Redactor::default();
        let basic = format!("echo: Authorization: Basic {}", base64(b"admin:camunda"));
        assert_eq!(r.apply(&basic), "echo: Authorization: Basic ***");
        assert_eq!(r.apply("bearer abc.def-ghi rest"), "bearer *** rest");
        assert_eq!(r.apply("basic idea"), "basic idea");
        assert_eq!(r.apply("Basic ok"), "Basic ok");
        assert_eq!(
            r.apply("echo: Authorization: ApiKey a2V5OnNlY3JldA=="),
            "echo: Authorization: ApiKey ***"
        );
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b"admin:camunda"), "YWRtaW46Y2FtdW5kYQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn a_secret_in_a_url_path_or_query_is_masked() {
        let r = Redactor::new(vec!["Pa ss/w0rd@x".into()]);
        let shown = r.apply("GET http://h/login/Pa%20ss/w0rd@x?p=Pa%20ss/w0rd@x");
        assert_eq!(shown, "GET http://h/login/***?p=***");
        // No empty form, whatever the secret: it would mask between every character.
        let slashes = Redactor::new(vec!["////////".into()]);
        assert_eq!(slashes.apply("a/b"), "a/b");
        let logged = mask_for_logs("url=http://h/login/Pa%20ss/w0rd@x");
        assert_eq!(logged, "url=http://h/login/***");
    }
}
