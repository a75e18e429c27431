/// The engine's settings; DESIGN.md §9 names the ones operators set (`TASKD_PREFIX`, `TASKD_SHARDS`,
/// `TASKD_RESULT_TTL`, `TASKD_LEASE_SECONDS`).
public struct TaskEngineConfiguration: Sendable {
    public static let defaultResultTtl = 500

    public var keyspace: TaskKeyspace
    /// Seconds a finished task is kept, unless the task says otherwise.
    public var resultTtl: Int
    /// A worker's lease when the claim does not name one.
    public var leaseDuration: Duration
    /// How long an overdue lease stays `impacted` before the task is taken away; nil = one lease.
    public var leaseGrace: Duration?
    /// `MAXLEN ~` of a task's event stream and of a shard's event stream.
    public var taskEventsMaxLen: Int
    public var shardEventsMaxLen: Int
    /// Retry backoff: the first delay, doubling per attempt up to the cap.
    public var retryBackoffBase: Duration
    public var retryBackoffMax: Duration
    /// How often the background services look for work when none is due sooner.
    public var leaseReaperInterval: Duration
    public var delayedPromoterInterval: Duration
    public var retentionInterval: Duration
    /// When set, every transition waits (`WAIT`) for this many replicas to have its writes before it
    /// answers, so a failover right after cannot lose it unless every acknowledging replica is lost
    /// too. Off by default: replication is asynchronous, and `WAIT` holds the pooled connection for
    /// up to the timeout when replicas lag or are down.
    public var replicaAcknowledgement: ReplicaAcknowledgement?
    /// `MAXLEN ~` of the audit stream (``AuditLog``); 0 = no audit stream.
    public var auditMaxLength: Int = 100_000

    public struct ReplicaAcknowledgement: Sendable {
        public var replicas: Int
        public var timeout: Duration
        public init(replicas: Int, timeout: Duration = .milliseconds(100)) {
            self.replicas = replicas
            self.timeout = timeout
        }
    }

    public init(
        keyspace: TaskKeyspace,
        resultTtl: Int = TaskEngineConfiguration.defaultResultTtl,
        leaseDuration: Duration = .seconds(30),
        leaseGrace: Duration? = nil,
        taskEventsMaxLen: Int = 1000,
        shardEventsMaxLen: Int = 10000,
        retryBackoffBase: Duration = .seconds(1),
        retryBackoffMax: Duration = .seconds(300),
        leaseReaperInterval: Duration = .seconds(1),
        delayedPromoterInterval: Duration = .seconds(1),
        retentionInterval: Duration = .seconds(5),
        replicaAcknowledgement: ReplicaAcknowledgement? = nil
    ) {
        self.keyspace = keyspace
        self.resultTtl = resultTtl
        self.leaseDuration = leaseDuration
        self.leaseGrace = leaseGrace
        self.taskEventsMaxLen = taskEventsMaxLen
        self.shardEventsMaxLen = shardEventsMaxLen
        self.retryBackoffBase = retryBackoffBase
        self.retryBackoffMax = retryBackoffMax
        self.leaseReaperInterval = leaseReaperInterval
        self.delayedPromoterInterval = delayedPromoterInterval
        self.retentionInterval = retentionInterval
        self.replicaAcknowledgement = replicaAcknowledgement
    }

    /// Checks the values an operator can get wrong.
    public func validated() throws -> TaskEngineConfiguration {
        guard TaskLimits.resultTtl.contains(resultTtl) else {
            throw TaskEngineError(.invalidConfiguration, "the result TTL must be \(TaskLimits.resultTtl.lowerBound)–\(TaskLimits.resultTtl.upperBound) s, got \(resultTtl)")
        }
        guard TaskLimits.lease.contains(leaseDuration.milliseconds) else {
            throw TaskEngineError(.invalidConfiguration, "the lease must be 1 s – 1 day, got \(leaseDuration)")
        }
        if let ack = replicaAcknowledgement {
            guard (1...16).contains(ack.replicas), ack.timeout > .zero, ack.timeout <= .seconds(2) else {
                throw TaskEngineError(.invalidConfiguration, "replica acknowledgement needs 1–16 replicas and a timeout of 1 ms – 2 s, got \(ack.replicas) and \(ack.timeout)")
            }
        }
        guard auditMaxLength == 0 || (1000...100_000_000).contains(auditMaxLength) else {
            throw TaskEngineError(.invalidConfiguration, "the audit stream's length must be 0 (off) or 1000 – 100000000, got \(auditMaxLength)")
        }
        guard taskEventsMaxLen >= 10, shardEventsMaxLen >= 100 else {
            throw TaskEngineError(.invalidConfiguration, "event streams must keep at least 10 (task) and 100 (shard) entries")
        }
        return self
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
