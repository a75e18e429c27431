/// The master that Redis Sentinel names and the client uses, for health checks (``RedisClient/sentinelStatus``).
public struct SentinelStatus: Sendable, Hashable, CustomStringConvertible {
    /// The master's name in the sentinels' configuration (the URL's `/service`).
    public var serviceName: String
    /// The master in use: named by a sentinel and confirmed with `ROLE`; nil until the first answer.
    public var master: RedisConfiguration.Endpoint?
    /// One sentence on why the master cannot be used now (none named yet, unreachable, a failover
    /// under way); nil when it can. Never carries a password.
    public var problem: String?
    /// How often the client has moved to another master; the first discovery counts as one.
    public var switches: Int

    public init(serviceName: String, master: RedisConfiguration.Endpoint?, problem: String?, switches: Int) {
        self.serviceName = serviceName
        self.master = master
        self.problem = problem
        self.switches = switches
    }

    /// Whether commands can go to the master now.
    public var isReady: Bool { master != nil && problem == nil }

    public var description: String {
        let master = self.master.map { "\($0)" } ?? "unknown"
        if let problem { return "Redis Sentinel '\(serviceName)': master \(master), not ready: \(problem)" }
        return "Redis Sentinel '\(serviceName)': master \(master)"
    }
}
