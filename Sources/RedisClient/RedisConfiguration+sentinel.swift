extension RedisConfiguration {
    /// Redis Sentinel: where the sentinels are, which master (service) to ask them for, and how to
    /// talk to the sentinels themselves. The data nodes' credentials, database and TLS stay in the
    /// enclosing configuration.
    ///
    /// As a URL: `redis+sentinel://[user:pass@]host1[:26379],host2[:26379]/service[/db][?options]`,
    /// `rediss+sentinel://…` for TLS to the data nodes. Options (values percent-encoded):
    /// `sentinelUser`, `sentinelPassword` (the sentinels' own ACL user or `requirepass`; none by
    /// default) and `sentinelTLS=true|false` (default: TLS to the sentinels as to the data nodes).
    public struct Sentinel: Sendable {
        /// The master's name in the sentinels' configuration (`sentinel monitor <name> …`).
        public var serviceName: String
        /// The sentinels, asked in turn; the one that answered moves to the front.
        public var endpoints: [Endpoint]
        public var username: String?
        public var password: String?
        /// TLS to the sentinels; a `nil` CA file means the data nodes' CA file (or the system roots).
        public var tls: TLS?

        public init(serviceName: String, endpoints: [Endpoint], username: String? = nil, password: String? = nil, tls: TLS? = nil) {
            self.serviceName = serviceName
            self.endpoints = endpoints
            self.username = username
            self.password = password
            self.tls = tls
        }
    }

    /// How the client talks to the sentinels: their credentials and TLS, no database, the client's timeouts.
    func sentinelConnectionConfiguration(_ sentinel: Sentinel) -> RedisConfiguration {
        var tls = sentinel.tls
        if tls != nil, tls?.caFile == nil { tls?.caFile = self.tls?.caFile }
        return RedisConfiguration(
            endpoints: sentinel.endpoints, username: sentinel.username, password: sentinel.password, database: 0,
            tls: tls, connectTimeout: connectTimeout, commandTimeout: commandTimeout, poolSize: 1,
            maxDedicatedConnections: 1, clientName: clientName)
    }
}

/// A `redis+sentinel://` or `rediss+sentinel://` URL taken apart; `nil` for any other scheme.
struct SentinelURL {
    static let defaultPort = 26379

    var sentinel: RedisConfiguration.Sentinel
    var username: String?
    var password: String?
    var database: Int
    var tls: Bool

    init?(_ text: String) throws {
        let text = Substring(text).drop(while: { $0 == " " })
        var rest: Substring
        if text.hasPrefix("redis+sentinel://") {
            tls = false
            rest = text.dropFirst("redis+sentinel://".count)
        } else if text.hasPrefix("rediss+sentinel://") {
            tls = true
            rest = text.dropFirst("rediss+sentinel://".count)
        } else {
            return nil
        }
        while rest.last == " " { rest = rest.dropLast() }
        // userinfo@hosts/service/db?query — the password may contain '@', so split at the last one.
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                let user = try ParsedURL.percentDecoded(userinfo[..<colon])
                username = user.isEmpty ? nil : user
                password = try ParsedURL.percentDecoded(userinfo[userinfo.index(after: colon)...])
            } else if !userinfo.isEmpty {
                password = try ParsedURL.percentDecoded(userinfo)
            }
        }
        var query: Substring = ""
        if let question = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw RedisClientError(.invalidURL, "Redis Sentinel URL needs the master's name after the sentinels: redis+sentinel://host:26379/mymaster")
        }
        let path = rest[rest.index(after: slash)...].split(separator: "/", omittingEmptySubsequences: false)
        let hosts = rest[..<slash]
        guard let name = path.first, !name.isEmpty else {
            throw RedisClientError(.invalidURL, "Redis Sentinel URL needs the master's name after the sentinels: redis+sentinel://host:26379/mymaster")
        }
        guard path.count <= 2 else {
            throw RedisClientError(.invalidURL, "Redis Sentinel URL path must be /service or /service/db")
        }
        database = 0
        if path.count == 2, !path[1].isEmpty {
            guard let db = Int(path[1]), db >= 0 else {
                throw RedisClientError(.invalidURL, "database in Redis URL must be a number ≥ 0, got '\(path[1])'")
            }
            database = db
        }
        let endpoints = try hosts.split(separator: ",").map { part -> RedisConfiguration.Endpoint in
            let trimmed = part.drop(while: { $0 == " " })
            return try ParsedURL.endpoint(trimmed.prefix(while: { $0 != " " }), defaultPort: Self.defaultPort)
        }
        guard !endpoints.isEmpty else { throw RedisClientError(.invalidURL, "Redis Sentinel URL names no sentinel") }
        sentinel = .init(serviceName: try ParsedURL.percentDecoded(name), endpoints: endpoints)
        var sentinelTLS = tls
        for pair in query.split(separator: "&") {
            let key = pair.prefix(while: { $0 != "=" })
            let value = try ParsedURL.percentDecoded(pair.dropFirst(key.count + 1))
            switch key {
            case "sentinelUser":
                sentinel.username = value.isEmpty ? nil : value
            case "sentinelPassword":
                sentinel.password = value
            case "sentinelTLS":
                switch value {
                case "true", "yes", "1": sentinelTLS = true
                case "false", "no", "0": sentinelTLS = false
                default: throw RedisClientError(.invalidURL, "sentinelTLS in Redis Sentinel URL must be true or false, got '\(value)'")
                }
            default:
                // Not even the name is echoed: a password with an unescaped '&' would show up here.
                throw RedisClientError(.invalidURL, "unknown option in Redis Sentinel URL query (known: sentinelUser, sentinelPassword, sentinelTLS; percent-encode '&' and '=' in values)")
            }
        }
        sentinel.tls = sentinelTLS ? RedisConfiguration.TLS() : nil
    }
}

extension RedisConfiguration {
    /// Where the client goes, for logs: the endpoints, or the Sentinel service and its sentinels.
    /// Never a password.
    public var targetDescription: String {
        if let sentinel {
            return "Redis Sentinel '\(sentinel.serviceName)' via \(sentinel.endpoints.map { "\($0)" }.joined(separator: ", "))"
        }
        return endpoints.map { "\($0)" }.joined(separator: ", ")
    }
}
