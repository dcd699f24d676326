import CMallocTuning
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

// The entry point. A plain `query` runs synchronously and ends the process (see
// `Hooklog.runQueryIfPlain`); everything else runs as an async command on the global executor.
//
// Why not `@main` on `Hooklog`: an async `main` ends the main thread with `pthread_exit` (inside
// `dispatch_main`), and in the fully static release binary that first stack unwind costs 90 ms (libgcc
// sorts the frame descriptions of the whole binary). Here the main thread just waits; nothing in hooklog
// runs on the main actor or the main queue.
// glibc's malloc serves blocks from 128 KB up with a fresh mmap (and, once freed, trims the heap back
// from 256 KB), so a scan decoding one 64 KB block after another (with a segment's 64 KB dictionary in
// front: 128 KB) faulted in new pages for every block: 160,856 page faults and 0.66 s for a
// `query --contains` over 1 M events, against 547 and 0.32 s with these two thresholds raised. Blocks
// of a MiB and more are still mapped apart, and at most 32 MiB of freed heap is kept. (Setting either
// also ends glibc's own adjustment of them, which did not reach these sizes here.)
_ = hooklog_malloc_tune(1 << 20, 32 << 20)
Hooklog.runQueryIfPlain(Array(CommandLine.arguments.dropFirst()))
Task.detached {
    await Hooklog.main()
    exit(0)
}
let never = DispatchSemaphore(value: 0)
while true { never.wait() }
