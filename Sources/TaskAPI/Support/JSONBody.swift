import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A request's JSON object with typed, checked field access: every wrong type, missing field or
/// unknown field becomes a 400 with a sentence naming the field.
struct JSONBody: Sendable {
    let fields: [String: JSONValue]

    /// Reads and parses the body; an empty body is an empty object. `allowed` lists the known fields:
    /// anything else is refused, so a typo (`progres`) is not silently ignored.
    static func read(_ request: Request, context: AppRequestContext, allowed: Set<String>) async throws -> JSONBody {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw APIError(.contentTooLarge, "body_too_large", "The request body is larger than \(context.maxUploadSize) bytes.")
        }
        guard buffer.readableBytes > 0 else { return JSONBody(fields: [:]) }
        // Decoding costs grow faster than the depth: a 10 kB body nested 500 deep took seconds of CPU.
        // No request shape needs more than a few levels (snapshots included): refuse deep ones unread.
        guard !Self.nestsDeeperThan(Self.maximumDepth, buffer.readableBytesView) else {
            throw APIError.badRequest("invalid_json", "The request body nests JSON deeper than \(Self.maximumDepth) levels.")
        }
        guard let value = JSONParser.parse(buffer) else {
            throw APIError.badRequest("invalid_json", "The request body is not valid JSON.")
        }
        guard case .object(let fields) = value else {
            throw APIError.badRequest("invalid_json", "The request body must be a JSON object.")
        }
        if let unknown = fields.keys.filter({ !allowed.contains($0) }).sorted().first {
            throw APIError.badRequest("unknown_field", "Unknown field \"\(unknown.prefix(64))\"; allowed: \(allowed.sorted().joined(separator: ", ")).")
        }
        return JSONBody(fields: fields)
    }

    /// Deepest nesting of objects and arrays a request body may have.
    static let maximumDepth = 32

    /// One pass over the bytes, strings skipped: whether `[`/`{` nest deeper than `limit`.
    static func nestsDeeperThan(_ limit: Int, _ bytes: ByteBufferView) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return false
    }

    private func wrongType(_ name: String, _ expected: String) -> APIError {
        APIError.badRequest("invalid_field", "\(name) must be \(expected).")
    }

    private func present(_ name: String, required: Bool) throws -> JSONValue? {
        switch fields[name] {
        case nil, .null?:
            if required { throw APIError.badRequest("missing_field", "\(name) is required.") }
            return nil
        case let value?:
            return value
        }
    }

    func string(_ name: String, required: Bool = false, maxLength: Int = 4096) throws -> String? {
        guard let value = try present(name, required: required) else { return nil }
        guard case .string(let text) = value else { throw wrongType(name, "a string") }
        guard text.utf8.count <= maxLength else { throw APIError.badRequest("invalid_field", "\(name) must be at most \(maxLength) bytes.") }
        if required && text.isEmpty { throw APIError.badRequest("invalid_field", "\(name) must not be empty.") }
        return text
    }

    func number(_ name: String, required: Bool = false) throws -> Double? {
        guard let value = try present(name, required: required) else { return nil }
        switch value {
        case .number(let number): return number
        // The seeds' examples send numbers as strings ("100"): accept those too.
        case .string(let text): if let number = Double(text), number.isFinite { return number }
        default: break
        }
        throw wrongType(name, "a number")
    }

    func integer(_ name: String, required: Bool = false) throws -> Int? {
        guard let number = try number(name, required: required) else { return nil }
        guard number == number.rounded(), abs(number) <= 1e15 else { throw wrongType(name, "an integer") }
        return Int(number)
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = try present(name, required: false) else { return nil }
        guard case .bool(let flag) = value else { throw wrongType(name, "true or false") }
        return flag
    }

    func strings(_ name: String, required: Bool = false, maxCount: Int = 1024) throws -> [String]? {
        guard let value = try present(name, required: required) else { return nil }
        guard case .array(let items) = value else { throw wrongType(name, "an array of strings") }
        guard items.count <= maxCount else { throw APIError.badRequest("invalid_field", "\(name) may hold at most \(maxCount) entries.") }
        return try items.map { item in
            guard case .string(let text) = item else { throw wrongType(name, "an array of strings") }
            return text
        }
    }

    /// Any JSON, returned as compact text for storage.
    func json(_ name: String, maxLength: Int = 65536) throws -> String? {
        guard let value = try present(name, required: false) else { return nil }
        let text = value.text
        guard text.utf8.count <= maxLength else { throw APIError.badRequest("invalid_field", "\(name) must be at most \(maxLength) bytes of JSON.") }
        return text
    }

    func object(_ name: String) throws -> [String: JSONValue]? {
        guard let value = try present(name, required: false) else { return nil }
        guard case .object(let object) = value else { throw wrongType(name, "a JSON object") }
        return object
    }
}

/// A JSON response written by the representation itself (``JSONWritable``): one pass, documented field order.
func jsonResponse(_ value: some JSONWritable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
    var writer = JSONWriter()
    value.writeJSON(to: &writer)
    var headers = headers
    headers[.contentType] = "application/json"
    return Response(status: status, headers: headers, body: .init(byteBuffer: writer.buffer))
}

/// A JSON response through `JSONEncoder`, for the rarely called routes whose types are `Encodable`.
func jsonResponse<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    var headers = headers
    headers[.contentType] = "application/json"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
}
