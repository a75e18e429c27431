import Hummingbird
import NIOCore
import TaskEngine

/// The request context of every route: Hummingbird's core storage plus who is calling.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The verified caller; nil on open routes (`/health/*`).
    public var apiKey: APIKey?
    /// The connection's two ends (nil when there is no socket, as in router tests).
    public let remoteAddress: SocketAddress?
    public let localAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        localAddress = source.channel.localAddress
    }

    /// Largest request body taskd reads (params and responses are capped well below).
    public var maxUploadSize: Int { 1 << 20 }
}
