import Hummingbird
import NIOCore
import TaskEngine

/// `GET /metrics`: the Prometheus text format, for a `viewer` (or higher) credential; Prometheus's
/// `authorization` scrape setting sends the Bearer `key:secret` style.
struct MetricsController {
    let services: APIServices
    /// nil when metrics are off (`TASKD_METRICS=off`): the route answers 404.
    let export: MetricsExport?

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    var endpoints: [Endpoint] {
        [Endpoint(.get, "/metrics", .read, .native, scrape)]
    }

    @Sendable func scrape(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let export else {
            throw APIError(.notFound, "metrics_disabled", "Metrics are off on this replica (TASKD_METRICS=off).")
        }
        let text = await export.scrape(services.store)
        return Response(status: .ok, headers: [.contentType: Self.contentType], body: .init(byteBuffer: ByteBuffer(bytes: text)))
    }
}
