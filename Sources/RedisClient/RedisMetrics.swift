import CoreMetrics
import RESP

/// The Redis client's figures, through swift-metrics (the executable chooses the backend).
enum RedisMetrics {
    static let commands = "taskd_redis_commands_total"
    static let reconnects = "taskd_redis_reconnects_total"

    /// Commands Redis answered.
    static let ok = Counter(label: commands, dimensions: [("outcome", "ok")])
    /// Commands Redis refused with an error reply (`-ERR …`, `NOSCRIPT`, `MOVED`, …).
    static let errorReply = Counter(label: commands, dimensions: [("outcome", "error_reply")])
    /// Commands without an answer: timeout, connection closed, Redis unreachable.
    static let failed = Counter(label: commands, dimensions: [("outcome", "failed")])

    /// Connections made again after one was lost: command connections and pub/sub.
    static let commandReconnects = Counter(label: reconnects, dimensions: [("connection", "command")])
    static let pubSubReconnects = Counter(label: reconnects, dimensions: [("connection", "pubsub")])

    static func count(_ reply: RESPValue) {
        if case .error = reply { errorReply.increment() } else { ok.increment() }
    }

    static func count(_ replies: [RESPValue]) {
        var errors = 0
        for case .error in replies { errors += 1 }
        if errors > 0 { errorReply.increment(by: errors) }
        if replies.count > errors { ok.increment(by: replies.count - errors) }
    }
}
