import NIOCore

/// A claimed task as the worker drives it.
struct DrivenTask: Sendable {
    var id: String
    var leaseToken: String
}

/// What happened to every heartbeat, indexed by its global number i (task i % tasks, that task's
/// heartbeat number i / tasks, replica (i / tasks + task) % replicas). Times from ``nowNanoseconds()``;
/// 0 = did not happen.
struct HeartbeatLog: Sendable {
    var intended: [Int64]
    var sent: [Int64]
    var answered: [Int64]
    /// HTTP status, or -1 for a transport error.
    var status: [Int32]
    /// The task version the response reported (the version its event carries); 0 when unknown.
    var version: [Int64]
    var connectionErrors = 0
    var started: Int64 = 0
    var finished: Int64 = 0

    init(count: Int) {
        intended = Array(repeating: 0, count: count)
        sent = Array(repeating: 0, count: count)
        answered = Array(repeating: 0, count: count)
        status = Array(repeating: 0, count: count)
        version = Array(repeating: 0, count: count)
    }
}

/// Sends `total` heartbeats at `rate` per second, open loop: heartbeat i is due at start + i / rate
/// whatever happened to the ones before it. Each replica has a small pool of keep-alive connections
/// (one request in flight each); a due heartbeat takes an idle connection or waits in that replica's
/// queue (the wait shows as sent − intended). Confined to one event loop: no locks.
final class HeartbeatDriver {
    private let loop: any EventLoop
    private let tasks: [DrivenTask]
    private let uris: [String]
    private let pools: [[Connection]]
    private var idle: [[Int]]
    private var queues: [[Int]]
    private var queueHeads: [Int]
    private let total: Int
    private let intervalNanoseconds: Double
    private var next = 0
    private var answeredCount = 0
    private var log: HeartbeatLog
    private var done: EventLoopPromise<Void>?

    init(loop: any EventLoop, tasks: [DrivenTask], pools: [[Connection]], total: Int, rate: Int) {
        self.loop = loop
        self.tasks = tasks
        self.uris = tasks.map { "/v1/tasks/\($0.id)/heartbeat" }
        self.pools = pools
        self.idle = pools.map { Array($0.indices.reversed()) }
        self.queues = pools.map { _ in [] }
        self.queueHeads = pools.map { _ in 0 }
        self.total = total
        self.intervalNanoseconds = 1e9 / Double(rate)
        self.log = HeartbeatLog(count: total)
    }

    /// Starts sending; the future completes once every heartbeat was answered (or failed).
    func start() -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        done = promise
        log.started = nowNanoseconds()
        for i in 0..<total { log.intended[i] = log.started + Int64(Double(i) * intervalNanoseconds) }
        tick()
        return promise.futureResult
    }

    var result: HeartbeatLog { log }

    /// Sends every heartbeat that is due, then sleeps until the next one is.
    private func tick() {
        let now = nowNanoseconds()
        while next < total, log.intended[next] <= now {
            dispatch(next)
            next += 1
        }
        guard next < total else { return }
        loop.assumeIsolated().scheduleTask(deadline: .uptimeNanoseconds(UInt64(log.intended[next]))) { self.tick() }
    }

    private func replica(of i: Int) -> Int {
        (i / tasks.count + i % tasks.count) % pools.count
    }

    private func dispatch(_ i: Int) {
        let replica = replica(of: i)
        if let connection = idle[replica].popLast() {
            send(i, on: connection, replica: replica)
        } else {
            queues[replica].append(i)
        }
    }

    private func send(_ i: Int, on connection: Int, replica: Int) {
        let task = tasks[i % tasks.count]
        let beat = i / tasks.count + 1  // progress beat / 1000: distinct per heartbeat of a task
        var body = ByteBuffer()
        body.reserveCapacity(96)
        body.writeString(#"{"leaseToken":""#)
        body.writeString(task.leaseToken)
        body.writeString(#"","progress":"#)
        body.writeString(String(beat / 1000))
        body.writeString(beat % 1000 < 10 ? ".00" : beat % 1000 < 100 ? ".0" : ".")
        body.writeString(String(beat % 1000))
        body.writeString("}")
        log.sent[i] = nowNanoseconds()
        pools[replica][connection].start(OutgoingRequest(method: .POST, uri: uris[i % tasks.count], body: body))
            .assumeIsolated().whenComplete { result in self.answered(i, result, connection: connection, replica: replica) }
    }

    private func answered(_ i: Int, _ result: Result<IncomingResponse, any Error>, connection: Int, replica: Int) {
        log.answered[i] = nowNanoseconds()
        answeredCount += 1
        var healthy = true
        switch result {
        case .success(let response):
            log.status[i] = Int32(response.status)
            log.version[i] = response.body.withUnsafeReadableBytes { bytes in
                thousandths(after: "\"version\":", in: bytes).map { $0 / 1000 } ?? 0
            }
        case .failure:
            log.status[i] = -1
            log.connectionErrors += 1
            healthy = false
        }
        if healthy {
            if queueHeads[replica] < queues[replica].count {
                let waiting = queues[replica][queueHeads[replica]]
                queueHeads[replica] += 1
                if queueHeads[replica] == queues[replica].count {
                    queues[replica].removeAll(keepingCapacity: true)
                    queueHeads[replica] = 0
                }
                send(waiting, on: connection, replica: replica)
            } else {
                idle[replica].append(connection)
            }
        }
        if answeredCount == total {
            log.finished = nowNanoseconds()
            done?.succeed(())
            done = nil
        }
    }
}
