/// How a ``TaskWorker`` claims and runs tasks.
public struct TaskWorkerConfiguration: Sendable {
    /// The queues this worker serves.
    public var commandTypes: [String]
    /// Handlers running at once; the worker claims only while a slot is free.
    public var concurrency: Int
    /// Who the tasks are leased to (shown as the task's `workerId`).
    public var workerId: String
    /// The lease each claim asks for; nil = the engine's default. Heartbeats renew it every third of it.
    public var lease: Duration?
    /// On graceful shutdown, how long running handlers may go on before they are cancelled and their
    /// tasks handed back to `queued` (without spending an attempt).
    public var shutdownGrace: Duration
    /// Longest one claim blocks on the engine's doorbell before it looks again (no polling meanwhile).
    public var claimWait: Duration
    /// Claims in flight at once (each a round trip): enough to keep `concurrency` handlers fed.
    public var claimers: Int

    public init(
        commandTypes: [String], concurrency: Int = 10, workerId: String = TaskWorkerConfiguration.defaultWorkerId(),
        lease: Duration? = nil, shutdownGrace: Duration = .seconds(10), claimWait: Duration = .seconds(30), claimers: Int? = nil
    ) {
        self.commandTypes = commandTypes
        self.concurrency = concurrency
        self.workerId = workerId
        self.lease = lease
        self.shutdownGrace = shutdownGrace
        self.claimWait = claimWait
        self.claimers = max(1, claimers ?? min(concurrency, 4))
    }

    /// `worker-<pid>-<random>`: unique per process, readable in `workerId` fields.
    public static func defaultWorkerId() -> String {
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "worker-\(ProcessIdentity.current)-\(random)"
    }
}

enum ProcessIdentity {
    static var current: Int32 {
        #if canImport(Glibc)
        getpid()
        #else
        0
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif
