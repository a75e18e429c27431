// Full task lifecycles over HTTP: create → claim → N heartbeats with progress → complete, by W concurrent
// workers spread over one or more taskd replicas, for a fixed time (and at most a fixed number of requests).
// Each worker has one keep-alive HTTP/1.1 connection and one request in flight (no pipelining).
// Run through `./dev bench http`, which starts Redis and the replicas and measures their CPU.
//
//   HTTPLifecycleBenchmark --urls http://127.0.0.1:8081,http://127.0.0.1:8082 --authorization 'Bearer key:secret'
//                          [--workers 50] [--seconds 10] [--heartbeats 10] [--max-requests 10000000] [--threads 1]
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

struct Options {
    var urls: [String] = ["http://127.0.0.1:8080"]
    var authorization = ""
    var workers = 50
    var seconds = 10.0
    var heartbeats = 10
    var maxRequests = 10_000_000
    var threads = 1
    var commandType = "bench.http"

    init(_ arguments: [String]) {
        var i = 1
        while i + 1 < arguments.count {
            let value = arguments[i + 1]
            switch arguments[i] {
            case "--urls": urls = value.split(separator: ",").map(String.init)
            case "--authorization": authorization = value
            case "--workers": workers = Int(value) ?? workers
            case "--seconds": seconds = Double(value) ?? seconds
            case "--heartbeats": heartbeats = Int(value) ?? heartbeats
            case "--max-requests": maxRequests = Int(value) ?? maxRequests
            case "--threads": threads = Int(value) ?? threads
            case "--command-type": commandType = value
            default:
                FileHandle.standardError.write(Data("unknown option \(arguments[i])\n".utf8))
                exit(2)
            }
            i += 2
        }
    }
}

/// One request, as the worker task hands it to the channel.
struct OutgoingRequest: Sendable {
    var method: HTTPMethod
    var uri: String
    var body: ByteBuffer?
}

struct IncomingResponse: Sendable {
    var status: Int
    var body: ByteBuffer
}

struct ConnectionClosed: Error {}

/// Turns an `OutgoingRequest` (written with its promise) into HTTP/1.1 parts and completes the promise
/// with the response. One request at a time: the worker awaits each response before writing again.
final class RequestResponseHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = (OutgoingRequest, EventLoopPromise<IncomingResponse>)
    typealias OutboundOut = HTTPClientRequestPart

    private let host: String
    private let authorization: String
    private var pending: EventLoopPromise<IncomingResponse>?
    private var status = 0
    private var body: ByteBuffer?

    init(host: String, authorization: String) {
        self.host = host
        self.authorization = authorization
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let (request, responsePromise) = unwrapOutboundIn(data)
        precondition(pending == nil, "one request in flight per connection")
        pending = responsePromise
        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.uri)
        head.headers.add(name: "Host", value: host)
        if !authorization.isEmpty { head.headers.add(name: "Authorization", value: authorization) }
        if let body = request.body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body = request.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body = nil
        case .body(var part):
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            let promise = pending
            pending = nil
            promise?.succeed(IncomingResponse(status: status, body: body ?? ByteBuffer()))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        pending?.fail(error)
        pending = nil
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending?.fail(ConnectionClosed())
        pending = nil
        context.fireChannelInactive()
    }
}

struct Connection: Sendable {
    let channel: any Channel

    static func connect(host: String, port: Int, authorization: String, group: any EventLoopGroup) async throws -> Connection {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        RequestResponseHandler(host: "\(host):\(port)", authorization: authorization))
                }
            }
            .connect(host: host, port: port).get()
        return Connection(channel: channel)
    }

    func send(_ request: OutgoingRequest) async throws -> IncomingResponse {
        let promise = channel.eventLoop.makePromise(of: IncomingResponse.self)
        channel.writeAndFlush((request, promise), promise: nil)
        return try await promise.futureResult.get()
    }
}

enum Kind: Int, CaseIterable {
    case create, claim, heartbeat, complete
    var name: String { ["create", "claim", "heartbeat", "complete"][rawValue] }
}

/// What one worker measured.
struct WorkerResult: Sendable {
    var lifecycles = 0
    /// Latencies in nanoseconds, per `Kind`.
    var latencies: [[Int64]] = Array(repeating: [], count: Kind.allCases.count)
    /// "kind status" → count, for every non-2xx answer or transport error.
    var errors: [String: Int] = [:]
    var emptyClaims = 0
}

/// The request budget shared by every worker.
final class Budget: Sendable {
    private let used = Atomic<Int>(0)
    let limit: Int
    init(limit: Int) { self.limit = limit }
    /// Takes `count` requests from the budget; false when it is spent.
    func take(_ count: Int) -> Bool {
        used.add(count, ordering: .relaxed).newValue <= limit
    }
}

struct Claim: Decodable { var taskId: String; var leaseToken: String }

func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

func nanoseconds(_ duration: Duration) -> Int64 {
    duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
}

func runWorker(index: Int, connection: Connection, options: Options, budget: Budget, deadline: ContinuousClock.Instant) async -> WorkerResult {
    var result = WorkerResult()
    for kind in Kind.allCases {
        result.latencies[kind.rawValue].reserveCapacity(kind == .heartbeat ? 20_000 : 2_000)
    }
    let perLifecycle = 3 + options.heartbeats
    let workerId = "bench-worker-\(index)"
    let decoder = JSONDecoder()
    let clock = ContinuousClock()

    /// Sends one request and records its latency; nil (and an error count) when it did not succeed.
    func timed(_ kind: Kind, _ request: OutgoingRequest, result: inout WorkerResult) async -> IncomingResponse? {
        let start = clock.now
        do {
            let response = try await connection.send(request)
            result.latencies[kind.rawValue].append(nanoseconds(clock.now - start))
            guard (200..<300).contains(response.status) else {
                result.errors["\(kind.name) \(response.status)", default: 0] += 1
                return nil
            }
            return response
        } catch {
            result.errors["\(kind.name) \(type(of: error))", default: 0] += 1
            return nil
        }
    }

    var sequence = 0
    // Bounded by the deadline, the request budget and (for safety) the error count.
    lifecycles: while clock.now < deadline, budget.take(perLifecycle), result.errors.values.reduce(0, +) < 1000 {
        sequence += 1
        let create = OutgoingRequest(method: .POST, uri: "/v1/tasks", body: json(
            #"{"commandType":"\#(options.commandType)","description":"HTTP benchmark task","params":{"worker":\#(index),"sequence":\#(sequence)}}"#))
        guard await timed(.create, create, result: &result) != nil else { continue }

        // The queue is shared: another worker may take the task this one just made, but every worker
        // creates before it claims, so a task is always there or coming. Wait up to 5 s for it.
        var claimed: Claim?
        for _ in 0..<10 {
            let claim = OutgoingRequest(method: .POST, uri: "/v1/workers/claim", body: json(
                #"{"workerId":"\#(workerId)","commandTypes":["\#(options.commandType)"],"waitSeconds":5}"#))
            guard let response = await timed(.claim, claim, result: &result) else { continue lifecycles }
            if response.status == 204 { result.emptyClaims += 1; continue }
            claimed = try? decoder.decode(Claim.self, from: Data(response.body.readableBytesView))
            break
        }
        guard let claimed else { result.errors["claim undecodable or empty", default: 0] += 1; continue }

        for beat in stride(from: 1, through: options.heartbeats, by: 1) {
            let progress = beat * 100 / (options.heartbeats + 1)
            let heartbeat = OutgoingRequest(method: .POST, uri: "/v1/tasks/\(claimed.taskId)/heartbeat", body: json(
                #"{"leaseToken":"\#(claimed.leaseToken)","progress":\#(progress),"state":"step \#(beat) of \#(options.heartbeats)"}"#))
            guard await timed(.heartbeat, heartbeat, result: &result) != nil else { continue lifecycles }
        }

        let complete = OutgoingRequest(method: .POST, uri: "/v1/tasks/\(claimed.taskId)/complete", body: json(
            #"{"leaseToken":"\#(claimed.leaseToken)","response":{"resourceId":\#(sequence)}}"#))
        guard await timed(.complete, complete, result: &result) != nil else { continue }
        result.lifecycles += 1
    }
    return result
}

func percentile(_ sorted: [Int64], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))
    return Double(sorted[rank]) / 1e6
}

let options = Options(CommandLine.arguments)
let endpoints: [(host: String, port: Int)] = options.urls.map { url in
    let rest = url.hasPrefix("http://") ? String(url.dropFirst(7)) : url
    let parts = rest.split(separator: ":")
    guard parts.count == 2, let port = Int(parts[1].prefix { $0.isNumber }) else {
        FileHandle.standardError.write(Data("bad url \(url): use http://host:port\n".utf8))
        exit(2)
    }
    return (String(parts[0]), port)
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, options.threads))
var connections: [Connection] = []
for index in 0..<options.workers {
    let endpoint = endpoints[index % endpoints.count]
    connections.append(try await Connection.connect(host: endpoint.host, port: endpoint.port, authorization: options.authorization, group: group))
}

let budget = Budget(limit: options.maxRequests)
let started = ContinuousClock.now
let deadline = started + .milliseconds(Int64(options.seconds * 1000))
let results = await withTaskGroup(of: WorkerResult.self) { group in
    for (index, connection) in connections.enumerated() {
        group.addTask { await runWorker(index: index, connection: connection, options: options, budget: budget, deadline: deadline) }
    }
    var all: [WorkerResult] = []
    for await result in group { all.append(result) }
    return all
}
let elapsed = ContinuousClock.now - started
let seconds = Double(nanoseconds(elapsed)) / 1e9
for connection in connections { try? await connection.channel.close().get() }
try await group.shutdownGracefully()

let lifecycles = results.reduce(0) { $0 + $1.lifecycles }
var errors: [String: Int] = [:]
for result in results { errors.merge(result.errors, uniquingKeysWith: +) }
let emptyClaims = results.reduce(0) { $0 + $1.emptyClaims }
var requests = 0
func left(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
func right(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
print(left("request", 10) + ["count", "per s", "p50 ms", "p99 ms"].map { right($0, 11) }.joined())
for kind in Kind.allCases {
    let sorted = results.flatMap { $0.latencies[kind.rawValue] }.sorted()
    requests += sorted.count
    print(left(kind.name, 10) + [String(sorted.count), String(format: "%.0f", Double(sorted.count) / seconds),
                                 String(format: "%.2f", percentile(sorted, 0.50)), String(format: "%.2f", percentile(sorted, 0.99))]
        .map { right($0, 11) }.joined())
}
print(String(format: "%d workers over %d replica(s), %.1f s: %d lifecycles (%.0f/s), %d requests (%.0f/s), %d empty claims, %d errors",
             options.workers, endpoints.count, seconds, lifecycles, Double(lifecycles) / seconds, requests, Double(requests) / seconds,
             emptyClaims, errors.values.reduce(0, +)))
for (what, count) in errors.sorted(by: { $0.key < $1.key }) { print("  error: \(what) × \(count)") }
// One machine-readable line for the script.
print(String(format: "RESULT lifecycles_per_s=%.1f requests_per_s=%.1f seconds=%.2f errors=%d",
             Double(lifecycles) / seconds, Double(requests) / seconds, seconds, errors.values.reduce(0, +)))
