import Hummingbird
import NIOCore
import TaskEngine

/// The request context of every route: Hummingbird's core storage plus who is calling.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The verified caller; nil on open routes (`/health/*`).
    public var apiKey: APIKey?
    /// The browser session the caller came with, when it came with the dashboard's cookie instead
    /// of credentials (then ``apiKey`` is the session's key, without its secret).
    public var session: BrowserSession?
    /// This request's place in the in-flight count (``AdmissionControl``); a long-poll gives it
    /// back when it starts to wait.
    public var admission: AdmissionTicket?
    /// The connection's two ends (nil when there is no socket, as in router tests).
    public let remoteAddress: SocketAddress?
    public let localAddress: SocketAddress?
    /// The connection's event loop, where a long stream writes from (``onConnectionLoop(_:_:)``).
    public let eventLoop: any EventLoop

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        localAddress = source.channel.localAddress
        eventLoop = source.channel.eventLoop
    }

    /// Largest request body taskd reads (params and responses are capped well below).
    public var maxUploadSize: Int { 1 << 20 }
}
