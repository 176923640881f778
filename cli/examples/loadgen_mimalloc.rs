//! The REST load benchmark of `loadgen`, in a process whose global allocator is mimalloc
//! instead of the system's (glibc malloc): built beside `loadgen` in one release build, so
//! the two allocators are compared on the same code, side by side.
//!
//! ```text
//! cargo run --release -p keygate --example loadgen_mimalloc -- [--seconds 10] [--clients 32]
//! ```

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "loadgen.rs"]
mod loadgen;

fn main() -> anyhow::Result<()> {
    loadgen::main()
}
