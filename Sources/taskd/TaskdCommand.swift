import ArgumentParser
import CoreMetrics
import Foundation
import Hummingbird
import Logging
import OTel
import RedisClient
import ServiceLifecycle
import TaskAPI
import TaskEngine
import TaskEvents

/// `taskd`: serve the task API. Every option has a flag and a `TASKD_*` variable (DESIGN.md §9).
struct TaskdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskd",
        abstract: "Redis-backed task orchestration service: the REST, worker and watch APIs.")

    private static func env(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    @Option(help: "Redis URL: redis://[user:pass@]host:port[/db], rediss://…, comma-separated cluster seeds, or Redis Sentinel: redis+sentinel://[user:pass@]host1:26379,host2:26379/mymaster[/db][?sentinelUser=…&sentinelPassword=…&sentinelTLS=true|false] (rediss+sentinel:// for TLS) (TASKD_REDIS_URL).")
    var redisURL: String = env("TASKD_REDIS_URL") ?? "redis://127.0.0.1:6379"

    @Option(name: .customLong("redis-ca-file"), help: "PEM file of the CAs that sign the Redis servers' certificates, for rediss:// (TASKD_REDIS_CA_FILE); the system's roots when unset. Certificates are always verified.")
    var redisCAFileFlag: String?

    var redisCAFile: String? { redisCAFileFlag ?? Self.env("TASKD_REDIS_CA_FILE") }

    @Option(help: "Replicas that must have each transition before it is answered, via WAIT (TASKD_WAIT_REPLICAS); 0 = do not wait.")
    var waitReplicas: Int = env("TASKD_WAIT_REPLICAS").flatMap { Int($0) } ?? 0

    @Option(help: "Longest wait for those replicas, in ms (TASKD_WAIT_TIMEOUT_MS); the transition is answered anyway, with a warning.")
    var waitTimeoutMs: Int = env("TASKD_WAIT_TIMEOUT_MS").flatMap { Int($0) } ?? 100

    @Option(help: "Address the HTTP API listens on (TASKD_HOST).")
    var host: String = env("TASKD_HOST") ?? "127.0.0.1"

    @Option(help: "Port the HTTP API listens on (TASKD_PORT).")
    var port: Int = env("TASKD_PORT").flatMap { Int($0) } ?? 8080

    @Option(name: .customLong("admin-key"), help: "Key of the first admin credential, created or updated at start (TASKD_ADMIN_KEY).")
    var adminKeyFlag: String?

    @Option(name: .customLong("admin-secret"), help: "Secret of the first admin credential (TASKD_ADMIN_SECRET). Prefer the variable: flags show in ps.")
    var adminSecretFlag: String?

    var adminKey: String? { adminKeyFlag ?? Self.env("TASKD_ADMIN_KEY") }
    var adminSecret: String? { adminSecretFlag ?? Self.env("TASKD_ADMIN_SECRET") }

    @Option(help: "Key prefix in Redis (TASKD_PREFIX).")
    var prefix: String = env("TASKD_PREFIX") ?? "taskd"

    @Option(help: "Number of keyspace shards, i.e. hash tags (TASKD_SHARDS). Grow it freely; never shrink it.")
    var shards: Int = env("TASKD_SHARDS").flatMap { Int($0) } ?? 1

    @Option(help: "Seconds a finished task is kept (TASKD_RESULT_TTL).")
    var resultTTL: Int = env("TASKD_RESULT_TTL").flatMap { Int($0) } ?? 500

    @Option(help: "Seconds a dashboard login (browser session) lasts before it must log in again (TASKD_SESSION_TTL); 1–604800.")
    var sessionTTL: Int = env("TASKD_SESSION_TTL").flatMap { Int($0) } ?? 28_800

    @Option(help: "Default worker lease in seconds (TASKD_LEASE_SECONDS).")
    var leaseSeconds: Int = env("TASKD_LEASE_SECONDS").flatMap { Int($0) } ?? 30

    @Option(help: "Entries the audit stream keeps, MAXLEN ~ (TASKD_AUDIT_MAXLEN); 0 = no audit stream.")
    var auditMaxlen: Int = env("TASKD_AUDIT_MAXLEN").flatMap { Int($0) } ?? 100_000

    @Option(name: .customLong("public-url"), help: "The URL clients reach taskd at, for links and Location headers, e.g. https://tasks.example.com (TASKD_PUBLIC_URL). Unset: the address a connection arrived at, or what a trusted proxy forwards.")
    var publicURLFlag: String?

    var publicURL: String? { publicURLFlag ?? Self.env("TASKD_PUBLIC_URL") }

    @Option(name: .customLong("trusted-proxies"), help: "Proxies whose X-Forwarded-For/-Proto/-Host taskd believes: comma-separated addresses or CIDR networks, e.g. 10.0.0.0/8,::1 (TASKD_TRUSTED_PROXIES). Unset: none.")
    var trustedProxiesFlag: String?

    var trustedProxies: String? { trustedProxiesFlag ?? Self.env("TASKD_TRUSTED_PROXIES") }

    /// Links and client addresses, as configured (checked in `validate`).
    var requestOrigin: RequestOrigin {
        RequestOrigin(publicURL: publicURL, trustedProxies: (trustedProxies ?? "").split(separator: ",").compactMap {
            IPNetwork($0.trimmingCharacters(in: .whitespaces))
        })
    }

    @Option(name: .customLong("max-connections"), help: "Most open HTTP connections; past it a new one is answered 503 and closed (TASKD_MAX_CONNECTIONS). Default: 10000, or what the open-file limit allows when that is less.")
    var maxConnectionsFlag: Int?

    var maxConnections: Int? { maxConnectionsFlag ?? Self.env("TASKD_MAX_CONNECTIONS").flatMap { Int($0) } }

    @Option(help: "Most requests one replica runs at once (the limit in force adapts below it, see --overload-lag-ms); past the limit the excess is answered 503 overloaded with Retry-After, and new tasks are refused from three quarters of it on (TASKD_MAX_REQUESTS_IN_FLIGHT). Health checks, /metrics and SSE streams do not count; a long-poll stops counting when it starts to wait.")
    var maxRequestsInFlight: Int = env("TASKD_MAX_REQUESTS_IN_FLIGHT").flatMap { Int($0) } ?? RequestLimits.defaultMaxRequestsInFlight

    @Option(help: "Milliseconds ready work may wait for a thread before taskd counts itself overloaded: while the lag stays above it the in-flight limit shrinks (to 4 at least), and it grows back when requests are refused while the lag is low (TASKD_OVERLOAD_LAG_MS). 0: the limit stays at --max-requests-in-flight.")
    var overloadLagMs: Int = env("TASKD_OVERLOAD_LAG_MS").flatMap { Int($0) } ?? 50

    var requestLimits: RequestLimits {
        RequestLimits(maxRequestsInFlight: maxRequestsInFlight, lagTarget: overloadLagMs > 0 ? .milliseconds(overloadLagMs) : nil)
    }

    @Option(help: "Seconds SIGTERM waits for in-flight requests and streams to end before it cancels what is left; 2 s later taskd exits (status 1) whatever still runs (TASKD_SHUTDOWN_GRACE_SECONDS).")
    var shutdownGraceSeconds: Int = env("TASKD_SHUTDOWN_GRACE_SECONDS").flatMap { Int($0) } ?? 6

    @Option(help: "Seconds a connection may wait without a complete request head, after opening or after its last response, before it is closed (TASKD_IDLE_TIMEOUT_SECONDS). Streams being answered are never idle.")
    var idleTimeoutSeconds: Int = env("TASKD_IDLE_TIMEOUT_SECONDS").flatMap { Int($0) } ?? 30

    @Option(help: "Seconds a request body may take to arrive after its head; later is a 408 (TASKD_REQUEST_TIMEOUT_SECONDS).")
    var requestTimeoutSeconds: Int = env("TASKD_REQUEST_TIMEOUT_SECONDS").flatMap { Int($0) } ?? 30

    /// The connection limits: the configured ones, checked against the open-file limit.
    var connectionLimits: ConnectionLimits {
        let ceiling = ConnectionLimits.openFileCeiling()
        let limit = maxConnections ?? min(ConnectionLimits.defaultMaxConnections, ceiling ?? ConnectionLimits.defaultMaxConnections)
        return ConnectionLimits(maxConnections: limit, idleTimeout: .seconds(idleTimeoutSeconds),
                                requestReadTimeout: .seconds(requestTimeoutSeconds))
    }

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (TASKD_LOG_LEVEL).")
    var logLevel: String = env("TASKD_LOG_LEVEL") ?? "info"

    @Option(help: "Log format: text or json, one JSON object per line (TASKD_LOG_FORMAT).")
    var logFormat: String = env("TASKD_LOG_FORMAT") ?? "text"

    @Option(help: "Prometheus metrics at /metrics: on or off (TASKD_METRICS).")
    var metrics: String = env("TASKD_METRICS") ?? "on"

    @Option(name: .customLong("metrics-command-types"), help: "Comma-separated commandTypes whose ready-queue depth /metrics reports (TASKD_METRICS_COMMAND_TYPES); one ZCARD per shard each per scrape.")
    var metricsCommandTypesFlag: String?

    var metricsCommandTypes: [String] {
        (metricsCommandTypesFlag ?? Self.env("TASKD_METRICS_COMMAND_TYPES") ?? "").split(separator: ",").map {
            String($0).trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
    }

    @Option(name: .customLong("otel-endpoint"), help: "OTLP/HTTP endpoint traces are sent to, e.g. http://collector:4318 (TASKD_OTEL_ENDPOINT); unset = no traces.")
    var otelEndpointFlag: String?

    var otelEndpoint: String? { otelEndpointFlag ?? Self.env("TASKD_OTEL_ENDPOINT") }

    init() {}

    /// Shortest admin secret taskd starts with.
    static let minimumAdminSecretLength = 16

    /// Parses the command line (exiting with usage on bad input) and serves until SIGTERM or SIGINT.
    static func start() async {
        do {
            let command = try parse()
            try await command.run()
        } catch {
            exit(withError: error)
        }
    }

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1–65535, got \(port)") }
        guard (adminKey == nil) == (adminSecret == nil) else {
            throw ValidationError("TASKD_ADMIN_KEY and TASKD_ADMIN_SECRET go together: set both or neither")
        }
        if let adminKey, !APIKeyStore.isValidKey(adminKey) {
            throw ValidationError("TASKD_ADMIN_KEY must be 1–128 printable characters without spaces or ':'")
        }
        // The admin credential opens everything, and is typed by people: at least 16 characters.
        if let adminSecret, !APIKeyStore.isValidSecret(adminSecret) || adminSecret.utf8.count < Self.minimumAdminSecretLength {
            throw ValidationError("TASKD_ADMIN_SECRET must be \(Self.minimumAdminSecretLength)–256 printable characters without spaces (e.g. openssl rand -hex 24)")
        }
        guard TaskLimits.leaseSeconds.contains(leaseSeconds) else {
            throw ValidationError("--lease-seconds must be \(TaskLimits.leaseSeconds.lowerBound)–\(TaskLimits.leaseSeconds.upperBound), got \(leaseSeconds)")
        }
        guard (0...16).contains(waitReplicas) else { throw ValidationError("--wait-replicas must be 0–16, got \(waitReplicas)") }
        guard (1...2000).contains(waitTimeoutMs) else { throw ValidationError("--wait-timeout-ms must be 1–2000, got \(waitTimeoutMs)") }
        if let maxConnections {
            guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1, got \(maxConnections)") }
            if let ceiling = ConnectionLimits.openFileCeiling(), maxConnections > ceiling {
                throw ValidationError("--max-connections \(maxConnections) needs an open-file limit (ulimit -n) of at least \(maxConnections + ConnectionLimits.reservedDescriptors + ConnectionLimits.refusalMargin); this process may open \(ceiling + ConnectionLimits.reservedDescriptors + ConnectionLimits.refusalMargin) files")
            }
        }
        guard (1...1_000_000).contains(maxRequestsInFlight) else {
            throw ValidationError("--max-requests-in-flight must be 1–1000000, got \(maxRequestsInFlight)")
        }
        guard (1...3600).contains(shutdownGraceSeconds) else {
            throw ValidationError("--shutdown-grace-seconds must be 1–3600, got \(shutdownGraceSeconds)")
        }
        guard (0...10_000).contains(overloadLagMs) else {
            throw ValidationError("--overload-lag-ms must be 0 (a fixed limit) or up to 10000, got \(overloadLagMs)")
        }
        if let publicURL, RequestOrigin.checkedPublicURL(publicURL) == nil {
            throw ValidationError("TASKD_PUBLIC_URL must be an http:// or https:// URL with a host and no query, e.g. https://tasks.example.com")
        }
        for entry in (trustedProxies ?? "").split(separator: ",") where IPNetwork(entry.trimmingCharacters(in: .whitespaces)) == nil {
            throw ValidationError("TASKD_TRUSTED_PROXIES: \(entry.prefix(60)) is not an IP address or CIDR network (e.g. 10.0.0.0/8)")
        }
        guard auditMaxlen == 0 || (1000...100_000_000).contains(auditMaxlen) else {
            throw ValidationError("--audit-maxlen must be 0 (no audit stream) or 1000–100000000, got \(auditMaxlen)")
        }
        guard (1...604_800).contains(sessionTTL) else { throw ValidationError("--session-ttl must be 1–604800 seconds, got \(sessionTTL)") }
        guard (1...3600).contains(idleTimeoutSeconds) else { throw ValidationError("--idle-timeout-seconds must be 1–3600, got \(idleTimeoutSeconds)") }
        guard (1...3600).contains(requestTimeoutSeconds) else { throw ValidationError("--request-timeout-seconds must be 1–3600, got \(requestTimeoutSeconds)") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json, got \(logFormat)") }
        if let otelEndpoint, URL(string: otelEndpoint)?.scheme.map({ ["http", "https"].contains($0) }) != true {
            throw ValidationError("TASKD_OTEL_ENDPOINT must be an http:// or https:// URL")
        }
        guard ["on", "off"].contains(metrics) else { throw ValidationError("--metrics must be on or off, got \(metrics)") }
        guard metricsCommandTypes.count <= 100, metricsCommandTypes.allSatisfy(TaskLimits.isValidCommandType) else {
            throw ValidationError("TASKD_METRICS_COMMAND_TYPES must be at most 100 commandTypes (letters, digits, _ . : -), comma-separated")
        }
    }

    func run() async throws {
        // Before the first Logger or metric is made: both systems can be bootstrapped once only.
        let json = logFormat == "json"
        LoggingSystem.bootstrap({ label, provider in
            json ? JSONLogHandler(label: label, metadataProvider: provider) as any LogHandler
                : StreamLogHandler.standardError(label: label, metadataProvider: provider)
        }, metadataProvider: RequestID.metadataProvider)
        var metricsExport: MetricsExport?
        if metrics == "on" {
            let factory = TaskdMetricsFactory()
            MetricsSystem.bootstrap(factory)
            metricsExport = MetricsExport(factory: factory, readyCommandTypes: metricsCommandTypes)
        }
        var telemetry: [any Service] = []
        if let otelEndpoint {
            // Traces only, OTLP/HTTP (protobuf): metrics stay Prometheus's, logs stay on stderr.
            var otel = OTel.Configuration.default
            otel.serviceName = "taskd"
            otel.logs.enabled = false
            otel.metrics.enabled = false
            otel.traces.enabled = true
            otel.traces.otlpExporter.endpoint = otelEndpoint
            otel.traces.otlpExporter.protocol = .httpProtobuf
            telemetry.append(try OTel.bootstrap(configuration: otel))
        }
        var logger = Logger(label: "taskd")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var redisConfiguration: RedisConfiguration
        do {
            redisConfiguration = try RedisConfiguration(url: redisURL)
        } catch {
            throw ValidationError("TASKD_REDIS_URL: \(error)")
        }
        if let redisCAFile {
            guard redisConfiguration.tls != nil else {
                throw ValidationError("TASKD_REDIS_CA_FILE is for TLS: the Redis URL must start with rediss://")
            }
            redisConfiguration.tls?.caFile = redisCAFile
        }
        let redis = try RedisClient(configuration: redisConfiguration, logger: logger)
        var engineConfiguration = TaskEngineConfiguration(
            keyspace: try TaskKeyspace(prefix: prefix, shardCount: shards), resultTtl: resultTTL,
            leaseDuration: .seconds(leaseSeconds),
            replicaAcknowledgement: waitReplicas > 0 ? .init(replicas: waitReplicas, timeout: .milliseconds(waitTimeoutMs)) : nil)
        engineConfiguration.auditMaxLength = auditMaxlen
        let store = try TaskStore(redis: redis, configuration: engineConfiguration, logger: logger)
        let keys = store.apiKeys
        let admin = adminKey.flatMap { key in adminSecret.map { (key, $0) } }
        let bootstrap = BootstrapService(store: store, keys: keys, admin: admin, logger: logger)
        let hub = TaskChangeHub(store: store, logger: logger)
        let app = buildApplication(
            host: host, port: port, store: store, keys: keys, hub: hub, services: [redis, bootstrap, hub] + store.services + telemetry,
            limits: connectionLimits, requestLimits: requestLimits, origin: requestOrigin, sessionLifetime: .seconds(sessionTTL), logger: logger, metrics: metricsExport, tracing: otelEndpoint != nil)
        logger.info("taskd starting", metadata: [
            "http.address": "\(host):\(port)", "redis": "\(redisConfiguration.targetDescription)", "taskd.prefix": "\(prefix)",
            "taskd.shards": "\(shards)", "http.max_connections": "\(connectionLimits.maxConnections)",
            "http.max_requests_in_flight": "\(maxRequestsInFlight)",
        ])
        // SIGTERM: streams end and long-polls answer at once, in-flight requests finish; past the
        // grace period what is still open (a slow client's stream blocked in a write, which nothing
        // else ends) is cancelled, so taskd is gone well within a pod's 30 s and the 10 s the fault
        // suite allows (a replica was seen waiting 20 s for a watcher 30 s behind).
        var group = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(shutdownGraceSeconds)
        // And if the pool is too busy to run even that: out 2 s after the grace period, whatever.
        ShutdownDeadline.arm(.seconds(shutdownGraceSeconds + 2), logger: logger)
        try await ServiceGroup(configuration: group).run()
    }
}
