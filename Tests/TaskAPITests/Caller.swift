import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// HTTP to a taskd process with one credential.
struct Caller {
    let authorization: String

    init(authorization: String) {
        self.authorization = authorization
        TestSecrets.recordAuthorization(authorization)
    }

    /// HTTP Basic with `key:secret`.
    init(key: String, secret: String) {
        self.init(authorization: "Basic " + Data("\(key):\(secret)".utf8).base64EncodedString())
    }

    /// One request on a connection of its own, over SwiftNIO (HummingbirdTesting's client):
    /// URLSession on Linux has been seen to never hand over a response it had received.
    func send(_ method: String, _ url: String, _ body: String? = nil, headers extra: HTTPFields = [:]) async throws -> (status: Int, headers: HTTPFields, body: Data) {
        let parsed = try #require(URL(string: url))
        let host = try #require(parsed.host), port = try #require(parsed.port)
        // An empty authorization sends none (an anonymous caller, or one with only a cookie in `extra`).
        var headers: HTTPFields = authorization.isEmpty ? [.contentType: "application/json"] : [.authorization: authorization, .contentType: "application/json"]
        headers.append(contentsOf: extra)
        let target = parsed.query.map { parsed.path + "?" + $0 } ?? parsed.path
        let request = TestClient.Request(target, method: HTTPRequest.Method(rawValue: method)!, headers: headers,
                                         body: body.map { ByteBuffer(string: $0) })
        let response = try await TestClient.withClient(host: host, port: port) { client in try await client.execute(request) }
        let data = response.body.map { Data($0.readableBytesView) } ?? Data()
        if let object = try? JSONSerialization.jsonObject(with: data) { TestSecrets.recordSecrets(in: object) }
        return (response.status.code, response.headers, data)
    }

    /// The status and the JSON object answered (empty when the body is none).
    func call(_ method: String, _ url: String, _ body: String? = nil) async throws -> (Int, [String: Any]) {
        let (status, _, data) = try await send(method, url, body)
        return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }
}
