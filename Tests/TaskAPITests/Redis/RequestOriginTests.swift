import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
@testable import TaskAPI
import TaskEngine
import TestSupport
import Testing

/// Links and `Location` headers come from `TASKD_PUBLIC_URL` or the listener, and forwarded
/// headers only from trusted proxies (issue 13, finding 8): a client's `Host` was echoed into links.
@Suite(.tags(.redis)) struct RequestOriginTests {
    static let spoofed: HTTPFields = [
        .contentType: "application/json", HTTPField.Name("X-Forwarded-Proto")!: "https",
        HTTPField.Name("X-Forwarded-Host")!: "tasks.example", HTTPField.Name("X-Forwarded-For")!: "203.0.113.9",
    ]

    func location(_ client: any TestClientProtocol, _ credentials: TestCredentials) async throws -> String {
        let headers = credentials.basic(.operator) + Self.spoofed
        let response = try await client.execute(uri: "/v1/tasks", method: .post, headers: headers, body: ByteBuffer(string: #"{"commandType":"links"}"#))
        #expect(response.status == .accepted)
        return response.headers[.location] ?? ""
    }

    @Test func anUntrustedClientCannotChooseTheLinkHost() async throws {
        try await withAPI(.live) { client, _, credentials in
            let location = try await location(client, credentials)
            #expect(location.hasPrefix("http://127.0.0.1:"), "\(location)")
            #expect(!location.contains("example"), "\(location)")
        }
    }

    @Test func aTrustedProxyForwardsSchemeAndHost() async throws {
        let origin = RequestOrigin(trustedProxies: [try #require(IPNetwork("127.0.0.0/8"))])
        try await withAPI(.live, origin: origin) { client, _, credentials in
            let location = try await location(client, credentials)
            #expect(location.hasPrefix("https://tasks.example/v1/tasks/"), "\(location)")
        }
    }

    @Test func thePublicURLWins() async throws {
        let origin = RequestOrigin(publicURL: "https://api.example.com/taskd/", trustedProxies: [try #require(IPNetwork("127.0.0.1"))])
        try await withAPI(.live, origin: origin) { client, _, credentials in
            let location = try await location(client, credentials)
            #expect(location.hasPrefix("https://api.example.com/taskd/v1/tasks/"), "\(location)")
        }
    }

    @Test func networksAndClientAddresses() throws {
        let network = try #require(IPNetwork("10.1.0.0/16"))
        #expect(network.contains(try #require(IPNetwork.Address("10.1.200.3"))))
        #expect(!network.contains(try #require(IPNetwork.Address("10.2.0.1"))))
        #expect(!network.contains(try #require(IPNetwork.Address("::1"))))
        #expect(try #require(IPNetwork("fd00::/8")).contains(try #require(IPNetwork.Address("fd12::1"))))
        #expect(try #require(IPNetwork("0.0.0.0/0")).contains(try #require(IPNetwork.Address("192.0.2.1"))))
        for bad in ["10.0.0.0/33", "example.com", "10.0.0/8", "::1/129", ""] { #expect(IPNetwork(bad) == nil, "\(bad)") }
        #expect(RequestOrigin.checkedPublicURL("https://tasks.example.com") != nil)
        for bad in ["ftp://x", "https://", "tasks.example.com", "https://x/?a=1", "https://u@x"] {
            #expect(RequestOrigin.checkedPublicURL(bad) == nil, "\(bad)")
        }
    }
}
