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
Hooklog.runQueryIfPlain(Array(CommandLine.arguments.dropFirst()))
Task.detached {
    await Hooklog.main()
    exit(0)
}
let never = DispatchSemaphore(value: 0)
while true { never.wait() }
