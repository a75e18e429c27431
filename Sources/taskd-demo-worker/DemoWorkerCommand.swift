import ArgumentParser
import Foundation
import Logging
import OTel
import ServiceLifecycle
import TaskEngine
import TaskWorker

/// `taskd-demo-worker`: runs realistic control-plane operations (`backup`, `reshard`, `create_db`,
/// `delete_db`) over their ops with TaskWorker, so a new user sees tasks move.
struct DemoWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskd-demo-worker",
        abstract: "A demo worker for taskd: backup, reshard, create_db and delete_db tasks, seconds long, with per-op progress.")

    private static func env(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    @Option(help: "Redis URL, as for taskd (TASKD_REDIS_URL).")
    var redisURL: String = env("TASKD_REDIS_URL") ?? "redis://127.0.0.1:6379"

    @Option(name: .customLong("redis-ca-file"), help: "PEM CAs for rediss:// (TASKD_REDIS_CA_FILE).")
    var redisCAFileFlag: String?

    var redisCAFile: String? { redisCAFileFlag ?? Self.env("TASKD_REDIS_CA_FILE") }

    @Option(help: "Key prefix in Redis (TASKD_PREFIX).")
    var prefix: String = env("TASKD_PREFIX") ?? "taskd"

    @Option(help: "Keyspace shards, as taskd's (TASKD_SHARDS).")
    var shards: Int = env("TASKD_SHARDS").flatMap(Int.init) ?? 1

    @Option(help: "commandTypes to serve, comma-separated (TASKD_DEMO_COMMAND_TYPES).")
    var commandTypes: String = env("TASKD_DEMO_COMMAND_TYPES") ?? DemoOperations.commandTypes.joined(separator: ",")

    @Option(help: "Tasks run at once (TASKD_DEMO_CONCURRENCY).")
    var concurrency: Int = env("TASKD_DEMO_CONCURRENCY").flatMap(Int.init) ?? 4

    @Option(help: "Share of attempts that fail with a retryable error, 0–1 (TASKD_DEMO_FAILURE_RATE).")
    var failureRate: Double = env("TASKD_DEMO_FAILURE_RATE").flatMap(Double.init) ?? 0.1

    @Option(help: "Milliseconds one step of an operation takes (TASKD_DEMO_STEP_MS).")
    var stepMs: Int = env("TASKD_DEMO_STEP_MS").flatMap(Int.init) ?? 300

    @Option(help: "Lease length in seconds; heartbeats every third of it (TASKD_LEASE_SECONDS).")
    var leaseSeconds: Int = env("TASKD_LEASE_SECONDS").flatMap(Int.init) ?? 30

    @Option(help: "Seconds running tasks may finish after SIGTERM before they are handed back (TASKD_WORKER_GRACE_SECONDS).")
    var graceSeconds: Double = env("TASKD_WORKER_GRACE_SECONDS").flatMap(Double.init) ?? 10

    @Option(help: "This worker's id (TASKD_WORKER_ID); default worker-<pid>-<random>.")
    var workerId: String = env("TASKD_WORKER_ID") ?? TaskWorkerConfiguration.defaultWorkerId()

    @Option(name: .customLong("otel-endpoint"), help: "OTLP/HTTP endpoint for traces, as taskd's (TASKD_OTEL_ENDPOINT); unset = none.")
    var otelEndpointFlag: String?

    var otelEndpoint: String? { otelEndpointFlag ?? Self.env("TASKD_OTEL_ENDPOINT") }

    @Option(help: "Log level (TASKD_LOG_LEVEL).")
    var logLevel: String = env("TASKD_LOG_LEVEL") ?? "info"

    init() {}

    static func start() async {
        do {
            let command = try parse()
            try await command.run()
        } catch {
            exit(withError: error)
        }
    }

    func validate() throws {
        guard (1...1000).contains(concurrency) else { throw ValidationError("--concurrency must be 1–1000, got \(concurrency)") }
        guard (0...1).contains(failureRate) else { throw ValidationError("--failure-rate must be between 0 and 1, got \(failureRate)") }
        guard (1...60_000).contains(stepMs) else { throw ValidationError("--step-ms must be 1–60000, got \(stepMs)") }
        guard TaskLimits.leaseSeconds.contains(leaseSeconds) else { throw ValidationError("--lease-seconds must be 1–86400, got \(leaseSeconds)") }
        guard (0...3600).contains(graceSeconds) else { throw ValidationError("--grace-seconds must be 0–3600, got \(graceSeconds)") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
        let unknown = types.filter { !DemoOperations.commandTypes.contains($0) }
        guard unknown.isEmpty, !types.isEmpty else {
            throw ValidationError("--command-types: this worker knows \(DemoOperations.commandTypes.joined(separator: ", ")), not \(unknown.joined(separator: ", "))")
        }
    }

    var types: [String] { commandTypes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }

    func run() async throws {
        var logger = Logger(label: "taskd.demo-worker")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let store = try TaskStore.connecting(
            to: redisURL, caFile: redisCAFile,
            configuration: TaskEngineConfiguration(keyspace: try TaskKeyspace(prefix: prefix, shardCount: shards)), logger: logger)
        let operations = DemoOperations(step: .milliseconds(stepMs), failureRate: failureRate)
        let worker = TaskWorker(
            store: store,
            configuration: TaskWorkerConfiguration(
                commandTypes: types, concurrency: concurrency, workerId: workerId, lease: .seconds(leaseSeconds),
                shutdownGrace: .milliseconds(Int64(graceSeconds * 1000))),
            logger: logger, handler: operations.run)
        logger.info("demo worker starting", metadata: [
            "worker.id": "\(workerId)", "worker.commandTypes": "\(types.joined(separator: ","))", "worker.concurrency": "\(concurrency)",
            "redis": "\(store.redisTarget)",
        ])
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: store.connection)]
        if let otelEndpoint {
            // The worker library runs each attempt in its task's trace; this exports those spans.
            var otel = OTel.Configuration.default
            otel.serviceName = "taskd-demo-worker"
            (otel.logs.enabled, otel.metrics.enabled) = (false, false)
            (otel.traces.otlpExporter.endpoint, otel.traces.otlpExporter.protocol) = (otelEndpoint, .httpProtobuf)
            services.append(.init(service: try OTel.bootstrap(configuration: otel)))
        }
        let group = ServiceGroup(
            configuration: .init(services: services + [.init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup)],
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
