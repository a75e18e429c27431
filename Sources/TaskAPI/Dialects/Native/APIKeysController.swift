import Hummingbird
import TaskEngine

/// API key management for admins (DESIGN.md §4.4).
struct APIKeysController {
    let services: APIServices

    var endpoints: [Endpoint] {
        [
            Endpoint(.post, "/v1/apikeys", .admin, .native, create),
            Endpoint(.get, "/v1/apikeys", .admin, .native, list),
            Endpoint(.delete, "/v1/apikeys/{key}", .admin, .native, delete),
        ]
    }

    struct Created: Encodable {
        var key: String
        var secret: String
        var role: String
        var name: String
    }

    struct Listed: Encodable {
        var key: String
        var role: String
        var name: String
        var createdAt: String
    }

    struct KeyList: Encodable {
        var apikeys: [Listed]
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.read(request, context: context, allowed: ["role", "name"])
        let roleText = try body.string("role", required: true, maxLength: 32) ?? ""
        guard let role = APIRole(rawValue: roleText) else {
            throw APIError.badRequest("invalid_field", "role must be one of \(APIRole.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        let name = try body.string("name", required: true, maxLength: 256) ?? ""
        let (key, secret) = try await services.keys.create(role: role, name: name)
        services.logger.info("api key created", metadata: ["apikey.key": "\(key.key)", "apikey.role": "\(role.rawValue)", "by": "\(context.apiKey?.key ?? "")"])
        return try jsonResponse(Created(key: key.key, secret: secret, role: role.rawValue, name: key.name), status: .created,
                                headers: [.location: "/v1/apikeys/\(key.key)"])
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let keys = try await services.keys.list()
        return try jsonResponse(KeyList(apikeys: keys.map {
            Listed(key: $0.key, role: $0.role.rawValue, name: $0.name, createdAt: Timestamp.iso8601(milliseconds: $0.createdAt))
        }))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let key = try request.parameter("key", context)
        // Deleting the last admin key would leave no way to manage keys until a restart with
        // TASKD_ADMIN_KEY: delete-key-2 refuses it, atomically across replicas.
        guard try await services.store.deleteAPIKey(key) else {
            throw APIError(.notFound, "apikey_not_found", "No API key \(key.prefix(128)) exists.")
        }
        services.authenticator.forget()
        services.logger.info("api key deleted", metadata: ["apikey.key": "\(key)", "by": "\(context.apiKey?.key ?? "")"])
        return Response(status: .noContent)
    }
}
