//! The `runbook` binary: everything lives in the library.

// mimalloc: plan loading allocates many small nodes (YAML tree, spans, templates); glibc's
// allocator spent a fifth of the time in malloc/free and kept freed arenas resident.
// Built as mimalloc v2 without transparent huge pages (Cargo.toml): v3 kept freed memory
// for a second (a 10k-step run then held validation's peak and the run's at once: 52 MiB
// against 41), and huge pages made the kernel zero 2 MiB at each first touch (a quarter of
// `runbook validate`'s time on large plans).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    runbook::cli::main()
}
