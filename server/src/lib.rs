//! Kiln: a Kubernetes API server whose API surface is generated from the published
//! Kubernetes specifications. See `docs/ARCHITECTURE.md` for how the pieces fit.

pub mod api;
pub mod app;
pub mod apply;
pub mod bootstrap;
pub mod convert;
pub mod discovery;
pub mod errors;
pub mod field_validation;
pub mod fields;
pub mod gojson;
pub mod handlers;
pub mod kinds;
pub mod labels;
pub mod logwriter;
pub mod negotiate;
pub mod objects;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod request;
pub mod scale;
pub mod schema;
pub mod storage;
pub mod store;
pub mod strategy;
pub mod table;
pub mod validation;
pub mod watch;

/// The allocator the `kiln` binary (and the benchmarks that measure its code) runs with:
/// mimalloc (v3), built without its transparent-huge-page advice, which is what kept its
/// idle footprint above glibc's (DECISIONS D27, D33). One type keeps the binary, the
/// benchmarks and the bench baselines on the same allocator.
///
/// It is the `mimalloc` crate's `MiMalloc` on the same C library (`libmimalloc-sys`), except
/// for which entry points it calls: a layout whose
/// alignment is at most a machine word (nearly every `String`, `Vec` and `Box` on the
/// request path) goes to `mi_malloc`/`mi_zalloc`/`mi_realloc`, whose blocks are always
/// word-aligned, instead of the `_aligned` variants, which re-check the alignment of every
/// block they hand out (DECISIONS D34). Larger alignments keep the `_aligned` calls.
pub struct Allocator;

/// An [`Allocator`], for `#[global_allocator] static A: kiln::Allocator = kiln::ALLOCATOR;`.
pub const ALLOCATOR: Allocator = Allocator;

/// The alignment every mimalloc block has: blocks are whole machine words, and mimalloc's
/// own `mi_realloc_aligned` takes its unaligned path up to this alignment.
const WORD: usize = std::mem::size_of::<usize>();

// SAFETY: every call forwards to mimalloc, which returns null on failure and otherwise a
// block of at least `layout.size()` bytes aligned to at least `WORD` bytes (the plain entry
// points) or to `layout.align()` (the `_aligned` ones); the plain ones are only used when
// `layout.align() <= WORD`. `mi_free` releases blocks from either family.
unsafe impl std::alloc::GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: see the impl's comment; `layout.size()` is non-zero per `GlobalAlloc`.
        unsafe {
            if layout.align() <= WORD {
                libmimalloc_sys::mi_malloc(layout.size()).cast()
            } else {
                libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe {
            if layout.align() <= WORD {
                libmimalloc_sys::mi_zalloc(layout.size()).cast()
            } else {
                libmimalloc_sys::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: std::alloc::Layout) {
        // SAFETY: `ptr` came from this allocator, so from mimalloc.
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`; the block keeps its
        // alignment family (see `alloc`).
        unsafe {
            if layout.align() <= WORD {
                libmimalloc_sys::mi_realloc(ptr.cast(), new_size).cast()
            } else {
                libmimalloc_sys::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod allocator_tests {
    use std::alloc::{GlobalAlloc, Layout};

    use super::Allocator;

    /// Every size and alignment gets a block aligned as asked, that keeps its bytes through
    /// growth and shrinking, whether the plain or the `_aligned` entry points serve it.
    #[test]
    fn blocks_are_aligned_and_keep_their_bytes() {
        let a = Allocator;
        for align in [1usize, 2, 4, 8, 16, 32, 64, 4096] {
            for size in (1..=300).chain([1000, 4096, 70_000, 1 << 20]) {
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    continue;
                };
                // SAFETY: a non-zero size; the block is written within `size` and freed with
                // the layout it now has.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    for i in 0..size {
                        p.add(i).write((i % 251) as u8);
                    }
                    let grown = a.realloc(p, layout, size * 3);
                    assert!(!grown.is_null());
                    assert_eq!(grown as usize % align, 0, "grown {size} align {align}");
                    for i in 0..size {
                        assert_eq!(grown.add(i).read(), (i % 251) as u8);
                    }
                    let grown_layout = Layout::from_size_align(size * 3, align).unwrap_or(layout);
                    let shrunk = a.realloc(grown, grown_layout, size.div_ceil(2));
                    assert_eq!(shrunk as usize % align, 0, "shrunk {size} align {align}");
                    for i in 0..size.div_ceil(2) {
                        assert_eq!(shrunk.add(i).read(), (i % 251) as u8);
                    }
                    let shrunk_layout =
                        Layout::from_size_align(size.div_ceil(2), align).unwrap_or(layout);
                    a.dealloc(shrunk, shrunk_layout);

                    let z = a.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!((0..size).all(|i| z.add(i).read() == 0));
                    a.dealloc(z, layout);
                }
            }
        }
    }
}
