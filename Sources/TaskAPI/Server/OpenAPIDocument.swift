import Foundation
import Hummingbird
import NIOCore

/// The OpenAPI 3.1 description of every route, served at `/openapi.json` (bundled `openapi.json`).
enum OpenAPIDocument {
    static let data: Data? = Bundle.module.url(forResource: "openapi", withExtension: "json").flatMap { try? Data(contentsOf: $0) }

    static let endpoint = Endpoint(.get, "/openapi.json", .read, .native) { _, _ in
        guard let data else {
            throw APIError(.internalServerError, "openapi_missing", "The OpenAPI document is not bundled with this build.")
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
