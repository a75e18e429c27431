import RESP

/// Who serves which hash slots, as `CLUSTER SLOTS` reports it.
public struct ClusterSlots: Sendable, Equatable {
    public struct Range: Sendable, Equatable {
        public var slots: ClosedRange<Int>
        public var master: RedisConfiguration.Endpoint
        public var replicas: [RedisConfiguration.Endpoint]
    }

    public var ranges: [Range]

    /// Every master, in slot order, each once.
    public var masters: [RedisConfiguration.Endpoint] {
        var seen = Set<RedisConfiguration.Endpoint>()
        return ranges.map(\.master).filter { seen.insert($0).inserted }
    }

    /// Parses a `CLUSTER SLOTS` reply: `[[start, end, [host, port, id, …], [replica…]…]…]`.
    /// A node that does not know its own address reports host `""` (Redis 7 with an unknown endpoint,
    /// or `?`): it is then the node that was asked.
    public init(reply: RESPValue, askedNode: RedisConfiguration.Endpoint) throws {
        guard let entries = reply.array else {
            throw RedisClientError(.unexpectedReply, "CLUSTER SLOTS answered \(reply), not an array")
        }
        ranges = try entries.map { entry in
            guard let fields = entry.array, fields.count >= 3,
                  let start = fields[0].int, let end = fields[1].int,
                  0 <= start, start <= end, end < HashSlot.count
            else {
                throw RedisClientError(.unexpectedReply, "CLUSTER SLOTS entry \(entry) is not [start, end, master, replicas…]")
            }
            let nodes = try fields.dropFirst(2).map { try Self.endpoint($0, askedNode: askedNode) }
            return Range(slots: start...end, master: nodes[0], replicas: Array(nodes.dropFirst()))
        }
    }

    private static func endpoint(_ node: RESPValue, askedNode: RedisConfiguration.Endpoint) throws -> RedisConfiguration.Endpoint {
        guard let fields = node.array, fields.count >= 2, let host = fields[0].string, let port = fields[1].int,
              (1...65535).contains(port)
        else {
            throw RedisClientError(.unexpectedReply, "CLUSTER SLOTS node \(node) is not [host, port, id…]")
        }
        let known = !host.isEmpty && host != "?"
        return RedisConfiguration.Endpoint(host: known ? host : askedNode.host, port: port)
    }

    /// Slots no master serves: commands for them fail with CLUSTERDOWN until an operator assigns them.
    public var uncoveredSlotCount: Int {
        HashSlot.count - ranges.reduce(0) { $0 + $1.slots.count }
    }
}

/// A `MOVED` or `ASK` reply: the slot lives (for good, or for this one command) on another node.
struct ClusterRedirect: Sendable {
    enum Kind { case moved, ask }
    var kind: Kind
    var slot: Int
    var endpoint: RedisConfiguration.Endpoint

    /// `MOVED 3999 127.0.0.1:6381` / `ASK 3999 127.0.0.1:6381`; an empty host means the same host.
    init?(_ error: RedisServerError, from node: RedisConfiguration.Endpoint) {
        let words = error.message.split(separator: " ")
        guard words.count == 3, let slot = Int(words[1]), (0..<HashSlot.count).contains(slot),
              let colon = words[2].lastIndex(of: ":"), let port = Int(words[2][words[2].index(after: colon)...])
        else { return nil }
        switch words[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        var host = words[2][..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        self.slot = slot
        self.endpoint = RedisConfiguration.Endpoint(host: host.isEmpty ? node.host : String(host), port: port)
    }
}
