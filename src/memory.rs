//! Keeping a long-running console's memory near what it uses. glibc gives
//! each thread that allocates its own arena and keeps freed memory in them;
//! a console that re-reads a 10,000-guest list every few seconds on several
//! tokio threads measured 281 MiB after a few minutes with the default
//! arenas and 136 MiB with one (see the README's benchmark table). So the
//! process uses two arenas, and hands freed memory back after each read.

/// Limit glibc to two malloc arenas. Call first thing in `main`, before
/// threads start.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any
    // other thread exists, with a valid parameter and value.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Return memory freed since the last call to the system (after a large
/// read is replaced by the next).
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim walks the allocator's own free lists; it takes its
    // locks and is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
