import NIOCore

/// Where and how to connect: parsed from `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS),
/// a comma-separated list of such URLs (cluster seed nodes), or
/// `redis+sentinel://[user:pass@]host1:26379,host2:26379/service[/db]` (Redis Sentinel; see ``Sentinel``).
public struct RedisConfiguration: Sendable {
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public struct TLS: Sendable {
        /// PEM file of the certificate authorities to trust; the system's roots when `nil`.
        public var caFile: String?
        /// Verify the server's certificate chain and name. On by default; off only for local experiments.
        public var verifyPeer: Bool
        public init(caFile: String? = nil, verifyPeer: Bool = true) {
            self.caFile = caFile
            self.verifyPeer = verifyPeer
        }
    }

    public var endpoints: [Endpoint]
    public var username: String?
    public var password: String?
    public var database: Int
    public var tls: TLS?
    public var connectTimeout: TimeAmount
    /// How long a command may wait for its reply before the connection is declared broken.
    public var commandTimeout: TimeAmount
    /// Connections each node's pool keeps open; commands are pipelined over them.
    public var poolSize: Int
    /// Connections that can be held exclusively at once (blocking commands) per node.
    public var maxDedicatedConnections: Int
    /// `CLIENT SETNAME` for every connection, so operators can tell taskd's connections apart.
    public var clientName: String?
    /// How long a cluster command may keep being redirected or retried (a failover, a slot being
    /// migrated) before its error reaches the caller. Cover the cluster's `cluster-node-timeout`
    /// plus an election to ride out a failover.
    public var clusterRetryTimeout: Duration
    /// Set when the master is found through Redis Sentinel; ``endpoints`` is then empty (the master's
    /// address is asked of the sentinels), and `username`, `password`, `database` and `tls` are the
    /// data nodes'. ``clusterRetryTimeout`` bounds how long a call waits for a new master.
    public var sentinel: Sentinel?

    public init(
        endpoints: [Endpoint] = [Endpoint(host: "127.0.0.1", port: 6379)],
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        tls: TLS? = nil,
        connectTimeout: TimeAmount = .seconds(1),
        commandTimeout: TimeAmount = .seconds(5),
        poolSize: Int = 4,
        maxDedicatedConnections: Int = 64,
        clientName: String? = nil,
        clusterRetryTimeout: Duration = .seconds(10),
        sentinel: Sentinel? = nil
    ) {
        self.endpoints = endpoints
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.poolSize = poolSize
        self.maxDedicatedConnections = maxDedicatedConnections
        self.clientName = clientName
        self.clusterRetryTimeout = clusterRetryTimeout
        self.sentinel = sentinel
    }

    /// Parses one URL or a comma-separated list of seed URLs; the credentials, database and TLS
    /// setting of the first apply to all.
    public init(url: String) throws {
        if let sentinelURL = try SentinelURL(url) {
            self.init(endpoints: [])
            username = sentinelURL.username
            password = sentinelURL.password
            database = sentinelURL.database
            tls = sentinelURL.tls ? TLS() : nil
            sentinel = sentinelURL.sentinel
            return
        }
        let parts = url.split(separator: ",").map { String($0).trimmingSpaces() }
        guard let first = parts.first, !first.isEmpty else {
            throw RedisClientError(.invalidURL, "empty Redis URL")
        }
        self.init(endpoints: [])
        let parsed = try parts.map(ParsedURL.init)
        endpoints = parsed.map(\.endpoint)
        username = parsed[0].username
        password = parsed[0].password
        database = parsed[0].database
        tls = parsed[0].tls ? TLS() : nil
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

/// One `redis://` or `rediss://` URL, taken apart without Foundation so it works the same everywhere.
struct ParsedURL {
    var endpoint: RedisConfiguration.Endpoint
    var username: String?
    var password: String?
    var database: Int
    var tls: Bool

    init(_ text: String) throws {
        var rest: Substring
        if text.hasPrefix("redis://") {
            tls = false
            rest = text.dropFirst("redis://".count)
        } else if text.hasPrefix("rediss://") {
            tls = true
            rest = text.dropFirst("rediss://".count)
        } else if !text.contains("://") {
            // A bare host:port, as in a list of cluster seeds.
            tls = false
            rest = Substring(text)
        } else {
            throw RedisClientError(.invalidURL, "Redis URL must start with redis://, rediss://, redis+sentinel:// or rediss+sentinel://")
        }
        // userinfo@hostport/db — the password may contain '@', so split at the last one.
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                let user = try Self.percentDecoded(userinfo[..<colon])
                username = user.isEmpty ? nil : user
                password = try Self.percentDecoded(userinfo[userinfo.index(after: colon)...])
            } else if !userinfo.isEmpty {
                // `redis://secret@host` — a password alone, as redis-cli accepts it.
                password = try Self.percentDecoded(userinfo)
            }
        }
        database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...].prefix(while: { $0 != "?" })
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let db = Int(path), db >= 0 else {
                    throw RedisClientError(.invalidURL, "database in Redis URL must be a number ≥ 0, got '\(path)'")
                }
                database = db
            }
        }
        endpoint = try Self.endpoint(rest, defaultPort: 6379)
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`.
    static func endpoint(_ rest: Substring, defaultPort: Int) throws -> RedisConfiguration.Endpoint {
        var host: Substring
        var port = defaultPort
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw RedisClientError(.invalidURL, "unclosed '[' in Redis URL host")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { port = try Self.port(after.dropFirst()) }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            port = try Self.port(rest[rest.index(after: colon)...])
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw RedisClientError(.invalidURL, "Redis URL has no host") }
        return .init(host: String(host), port: port)
    }

    static func port(_ text: Substring) throws -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw RedisClientError(.invalidURL, "port in Redis URL must be 1–65535, got '\(text)'")
        }
        return port
    }

    static func percentDecoded(_ text: Substring) throws -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    throw RedisClientError(.invalidURL, "bad percent-escape in Redis URL credentials")
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
