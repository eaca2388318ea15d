//! logging: the tracing subscriber behind `-v`/`-vv`/`RUST_LOG`. Events go to stderr, never
//! stdout (stdout carries outputs: JSON reports, values files), and every formatted line is
//! masked with the secrets the run knows (`run::redact::mask_for_logs`: declared and captured
//! secrets in all their encoded forms, and `Basic`/`Bearer` tokens) before it is written, so
//! no executor has to get masking right at each call site. It only sets up the subscriber.

use std::io::Write;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Without `-v` or `RUST_LOG` nothing is logged (the run prints its own progress); `-v` logs
/// each request, response status and kubectl argv (info), `-vv` bodies too (debug).
pub fn init(verbose: u8, ansi: bool) {
    let default = match verbose {
        0 => "off",
        1 => "warn,runbook=info",
        _ => "warn,runbook=debug",
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(MaskedStderr)
        .with_ansi(ansi)
        .try_init();
}

/// Makes one [`MaskedLine`] per event.
struct MaskedStderr;

impl<'a> MakeWriter<'a> for MaskedStderr {
    type Writer = MaskedLine;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedLine(Vec::new())
    }
}

/// Collects one formatted event; masks and writes it when dropped (the formatter may write an
/// event in pieces, and a secret must not be split across two unmasked writes).
struct MaskedLine(Vec<u8>);

impl Write for MaskedLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for MaskedLine {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.0);
        let masked = crate::run::redact::mask_for_logs(&text);
        let _ = std::io::stderr().lock().write_all(masked.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_masked_as_a_whole_when_dropped() {
        crate::run::redact::Redactor::new(vec!["log-secret-4711".into()]);
        let mut line = MaskedLine(Vec::new());
        line.write_all(b"url=/x?p=log-sec").unwrap();
        line.write_all(b"ret-4711 auth=Basic dXNlcjpwYXNz\n")
            .unwrap();
        let text = String::from_utf8_lossy(&line.0).into_owned();
        let masked = crate::run::redact::mask_for_logs(&text);
        assert!(!masked.contains("log-secret-4711"), "{masked}");
        assert!(!masked.contains("dXNlcjpwYXNz"), "{masked}");
        std::mem::forget(line);
    }
}
