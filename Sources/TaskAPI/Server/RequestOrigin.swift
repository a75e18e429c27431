import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Where a request came from and which URL taskd is known by (issue 13, finding 8). Links and
/// `Location` headers were built from the client's `Host` and `X-Forwarded-Proto`, so any client
/// could make taskd hand out links to a host of its choosing. Now they come from `TASKD_PUBLIC_URL`
/// when set, else from the address the connection arrived at; forwarded headers count only from a
/// proxy in `TASKD_TRUSTED_PROXIES`. The client address (for throttling and the audit stream) is
/// the peer, or behind a trusted proxy the last `X-Forwarded-For` hop that is not one.
public struct RequestOrigin: Sendable {
    /// `scheme://host[:port][/path]` without a trailing slash.
    public let publicURL: String?
    public let trustedProxies: [IPNetwork]

    public init(publicURL: String? = nil, trustedProxies: [IPNetwork] = []) {
        self.publicURL = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.trustedProxies = trustedProxies
    }

    /// A public URL as configured: http or https, a host, no query or fragment. nil when it is not one.
    public static func checkedPublicURL(_ text: String) -> String? {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil, url.user == nil
        else { return nil }
        return text
    }

    /// The scheme and authority (and path prefix) for absolute links; "" (relative links) when
    /// nothing is known, as in router tests without a socket.
    func baseURL(of request: Request, context: AppRequestContext) -> String {
        if let publicURL { return publicURL }
        if isTrustedProxy(context.remoteAddress) {
            let proto = request.headers[Self.forwardedProto]?.lowercased()
            let scheme = proto == "https" ? "https" : "http"
            if let host = (request.headers[Self.forwardedHost] ?? request.head.authority).flatMap(Self.checkedHost) {
                return "\(scheme)://\(host)"
            }
        }
        guard let local = context.localAddress, let ip = local.ipAddress, let port = local.port else { return "" }
        if case .v6 = local { return "http://[\(ip)]:\(port)" }
        return "http://\(ip):\(port)"
    }

    /// The client's address: the peer, or behind trusted proxies the nearest untrusted hop of
    /// `X-Forwarded-For` (the hops before it are the client's to invent).
    func clientAddress(of request: Request, context: AppRequestContext) -> String {
        guard let peer = context.remoteAddress?.ipAddress else { return "unknown" }
        guard isTrustedProxy(context.remoteAddress), let forwarded = request.headers[Self.forwardedFor] else { return peer }
        let hops = forwarded.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard let address = IPNetwork.Address(hop) else { return peer }
            if !trustedProxies.contains(where: { $0.contains(address) }) { return String(hop.prefix(64)) }
        }
        return peer
    }

    private func isTrustedProxy(_ address: SocketAddress?) -> Bool {
        guard !trustedProxies.isEmpty, let ip = address?.ipAddress, let parsed = IPNetwork.Address(ip) else { return false }
        return trustedProxies.contains { $0.contains(parsed) }
    }

    /// A host[:port] of printable ASCII without a slash, at most 255 characters.
    static func checkedHost(_ host: String) -> String? {
        guard !host.isEmpty, host.utf8.count <= 255,
              host.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "/" && $0 != "\\" && $0 != "@" })
        else { return nil }
        return host
    }

    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let forwardedHost = HTTPField.Name("X-Forwarded-Host")!
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
}

/// An IPv4 or IPv6 network, `10.0.0.0/8`, `fd00::/8`, or one address.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// An address as its bytes: 4 for IPv4, 16 for IPv6.
    struct Address: Hashable {
        let bytes: [UInt8]

        init?(_ text: String) {
            var v4 = in_addr()
            var v6 = in6_addr()
            if inet_pton(AF_INET, text, &v4) == 1 {
                bytes = withUnsafeBytes(of: &v4) { Array($0) }
            } else if inet_pton(AF_INET6, text, &v6) == 1 {
                bytes = withUnsafeBytes(of: &v6) { Array($0) }
            } else {
                return nil
            }
        }
    }

    let network: Address
    let prefixLength: Int
    public let description: String

    /// nil when `text` is not an address or `address/length` with a length that fits.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let address = Address(first) else { return nil }
        let bits = address.bytes.count * 8
        let length = parts.count == 2 ? Int(parts[1]) : bits
        guard let length, (0...bits).contains(length) else { return nil }
        network = address
        prefixLength = length
        description = text
    }

    func contains(_ address: Address) -> Bool {
        guard address.bytes.count == network.bytes.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(address.bytes, network.bytes) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if a & mask != b & mask { return false }
            remaining -= 8
        }
        return true
    }
}
