//! The `runbook` binary: everything lives in the library.

// mimalloc: plan loading allocates many small nodes (YAML tree, spans, templates); glibc's
// allocator spent a fifth of the time in malloc/free and kept freed arenas resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // mimalloc asks for transparent huge pages: the kernel then zeroes 2 MiB at each first
    // touch, which took a quarter of `runbook validate`'s time on large plans and counted
    // whole huge pages in the resident set. Best effort: nothing depends on it.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    runbook::cli::main()
}
