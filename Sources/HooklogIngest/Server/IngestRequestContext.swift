import Hummingbird
import NIOCore

/// The request context of hooklog's routes: Hummingbird's basic context plus the connection's channel,
/// which `BodyWatchdog` closes the input of when a body is late.
public struct IngestRequestContext: RequestContext {
    /// Hummingbird's own per-request state (logger, path parameters).
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came in on.
    let channel: any Channel

    /// Creates the context of one request.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
