import NIOCore
import NIOEmbedded
import Testing

@testable import HooklogIngest

@Suite struct BodyWatchdogTests {
    @Test(
        "a body read past its deadline is reported late and its connection closed; one done in time is left alone",
        .timeLimit(.minutes(1)))
    func lateReadsAreCut() async throws {
        let watchdog = BodyWatchdog(timeout: .milliseconds(100))
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 8080)
        let prompt = NIOAsyncTestingChannel()
        try await prompt.connect(to: address)
        let slow = NIOAsyncTestingChannel()
        try await slow.connect(to: address)

        let inTime = watchdog.start(prompt)
        let late = watchdog.start(slow)
        #expect(!watchdog.finish(inTime), "finished well within its 100 ms")
        // The patrol closes the late connection's input (a testing channel cannot half-close, so the whole
        // channel closes); nothing else ends this wait, and the time limit fails the test if it never comes.
        try await slow.closeFuture.get()
        #expect(watchdog.finish(late), "the late read is reported late")
        // Past the deadline the first read would have had, its connection is still open.
        try await Task.sleep(for: .milliseconds(300))
        #expect(prompt.isActive)
        // A new read on a quiet watchdog starts a new patrol.
        let again = NIOAsyncTestingChannel()
        try await again.connect(to: address)
        let third = watchdog.start(again)
        try await again.closeFuture.get()
        #expect(watchdog.finish(third))
        _ = try? await prompt.close()
    }
}
