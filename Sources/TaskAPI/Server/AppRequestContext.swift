import Hummingbird
import TaskEngine

/// The request context of every route: Hummingbird's core storage plus who is calling.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The verified caller; nil on open routes (`/health/*`).
    public var apiKey: APIKey?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// Largest request body taskd reads (params and responses are capped well below).
    public var maxUploadSize: Int { 1 << 20 }
}
