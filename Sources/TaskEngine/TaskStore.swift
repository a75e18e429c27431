import Logging
import RESP
import RedisClient
import ServiceLifecycle

/// The task lifecycle over Redis: one method per transition, each one `EVALSHA` of its script
/// (Lua/README.md), plus reads. Safe to use from any number of replicas and tasks at once.
///
/// The engine is the only door to Redis: the API, the event feeds and the worker library ask it, and
/// none of them holds the client. Its background services (``services``) must run somewhere for
/// leases to expire, delayed tasks to start and indexes to be cleaned; running them in every replica
/// is safe.
public final class TaskStore: Sendable {
    public let configuration: TaskEngineConfiguration
    let redis: RedisClient
    public let scripts: TaskScripts
    /// The API keys, in the same Redis under the same prefix.
    public let apiKeys: APIKeyStore
    /// The dashboard's browser sessions, in the same Redis under the same prefix.
    public let sessions: BrowserSessionStore
    /// The audit stream (``AuditLog``).
    public let audit: AuditLog
    let clock: any TaskClock
    let logger: Logger
    /// Rung whenever a task may have become ready to claim; see ``ReadyTaskWatcher``.
    let readyTasks = Doorbell()
    /// Counts transitions that fewer replicas acknowledged than configured; warns at most every 10 s.
    public let underReplicated = UnderReplicatedWrites()

    public init(
        redis: RedisClient,
        configuration: TaskEngineConfiguration,
        scripts: TaskScripts? = nil,
        clock: any TaskClock = SystemClock(),
        logger: Logger = Logger(label: "taskd.engine")
    ) throws {
        self.configuration = try configuration.validated()
        self.redis = redis
        self.scripts = try scripts ?? TaskScripts.bundled()
        self.apiKeys = APIKeyStore(redis: redis, keyspace: configuration.keyspace)
        self.sessions = BrowserSessionStore(redis: redis, keyspace: configuration.keyspace, clock: clock)
        self.audit = AuditLog(redis: redis, keyspace: configuration.keyspace, maxLength: configuration.auditMaxLength, logger: logger)
        self.clock = clock
        self.logger = logger
    }

    public var keyspace: TaskKeyspace { configuration.keyspace }

    /// The engine's clock (ms since the epoch): pinned in tests.
    public func now() -> Int64 { clock.now() }

    /// Loads every script into every master ahead of the first call (a call answered `NOSCRIPT` later is sent again as `EVAL`, which caches it).
    public func loadScripts() async throws {
        try await redis.loadScripts(scripts.all)
    }

    /// The background services: the audit stream's last writer (first here, so a `ServiceGroup`
    /// stops it after the others), lease reaper, delayed promoter, retention janitor, and the watcher
    /// that wakes blocked claims. Run them in a `ServiceGroup` beside the Redis client.
    public var services: [any Service] {
        [audit.flushService, ReadyTaskWatcher(store: self), LeaseReaper(store: self), DelayedPromoter(store: self), RetentionJanitor(store: self)]
    }

    /// The watcher that wakes blocked claims, alone: for processes that claim (workers) but leave
    /// the other background services to the taskd replicas.
    public var readyTaskWatcher: any Service { ReadyTaskWatcher(store: self) }

    /// The shard of an existing task; an id taskd could not have made is "not found" without a Redis call.
    func shard(ofTask id: String) throws -> ShardKeys {
        guard let shard = keyspace.shard(ofTask: id) else {
            throw TaskEngineError(.notFound, "task \(id) does not exist (not a task id)", taskId: id)
        }
        return shard
    }

    /// Runs one transition: the engine's only `EVALSHA`. With replica acknowledgement configured, a
    /// `WAIT` follows in the same pipeline on the same connection.
    func perform<T: TaskTransition>(_ transition: T, in shard: ShardKeys, now: Int64? = nil) async throws -> T.Reply {
        let script = scripts.script(for: T.self)
        let keys = transition.keys(in: shard)
        assert(keys.count == T.keyCount, "\(T.self) passes \(keys.count) keys to \(script.name)")
        let call = TransitionCall(
            now: now ?? clock.now(), shard: shard, taskEventsMaxLen: configuration.taskEventsMaxLen,
            shardEventsMaxLen: configuration.shardEventsMaxLen)
        let arguments = transition.arguments(call)
        let raw: RESPValue
        if let ack = configuration.replicaAcknowledgement {
            let (reply, acknowledged) = try await redis.evalScript(script, keys: keys, arguments: arguments, replicas: ack.replicas, timeout: ack.timeout)
            if acknowledged < ack.replicas { underReplicated.note(acknowledged: acknowledged, wanted: ack.replicas, logger: logger) }
            raw = reply
        } else {
            raw = try await redis.evalScript(script, keys: keys, arguments: arguments)
        }
        let reply = try ScriptReply(raw, script: script.name, taskId: transition.taskId, accepting: T.answerCodes)
        var fields = ScriptReplyFields(reply, script: script.name)
        let decoded = try transition.decode(&fields)
        if let observation = transition.observation(of: decoded) { EngineMetrics.shared.record(observation, now: call.now) }
        return decoded
    }
}
