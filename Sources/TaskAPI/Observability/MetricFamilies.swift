/// Every metric family taskd exports: its name, help text and (for histograms) buckets. The modules
/// that record a family spell its name where they record it (`EngineMetrics`, `RedisMetrics`,
/// `EventMetrics`, ``HTTPMetricsMiddleware``, ``MetricsController``); ``TaskdMetricsFactory`` gives
/// each the help text here, and a family missing here is exported without `# HELP` (which
/// `promtool check metrics` reports, see MetricsTests).
///
/// Names follow Prometheus's conventions: `taskd_` prefix, base units (`_seconds`, `_bytes`),
/// `_total` on counters; labels are bounded sets (route templates, never raw paths; status classes).
enum MetricFamilies {
    struct Family: Sendable {
        var help: String
        var buckets: [Duration]? = nil
    }

    /// 10 ms … 24 h: task waits and runs last from milliseconds to hours (a database backup, a reshard).
    static let taskDurationBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60), .seconds(300), .seconds(600), .seconds(1800), .seconds(3600), .seconds(7200),
        .seconds(14_400), .seconds(28_800), .seconds(43_200), .seconds(86_400),
    ]

    /// 1 ms … 60 s: request latency (a claim long-poll waits up to 60 s).
    static let requestDurationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
        .seconds(10), .seconds(30), .seconds(60),
    ]

    static let all: [String: Family] = [
        // HTTP (HTTPMetricsMiddleware)
        "taskd_http_requests_total": Family(help: "HTTP requests answered, by route template, method, status class and dialect."),
        "taskd_http_requests_shed_total": Family(
            help: "Requests answered 503 overloaded at once, past TASKD_MAX_REQUESTS_IN_FLIGHT, by class: new_work (creates), regular."),
        "taskd_http_requests_in_flight": Family(help: "Requests running on this replica now, of TASKD_MAX_REQUESTS_IN_FLIGHT (exempt routes and waiting long-polls not counted)."),
        "taskd_http_requests_in_flight_limit": Family(
            help: "The in-flight limit now: TASKD_MAX_REQUESTS_IN_FLIGHT, less while ready work waits for a thread longer than TASKD_OVERLOAD_LAG_MS."),
        "taskd_http_request_duration_seconds": Family(
            help: "Time from request to response head, by route template, method and dialect.", buckets: requestDurationBuckets),
        // Transitions (TaskEngine's EngineMetrics): what this process's calls did.
        "taskd_task_transitions_total": Family(help: "Task status changes made by this process, by commandType and the status entered."),
        "taskd_task_wait_seconds": Family(help: "Time from create to the first claim, by commandType.", buckets: taskDurationBuckets),
        "taskd_task_run_seconds": Family(help: "Time from the first claim to a finished status, by commandType.", buckets: taskDurationBuckets),
        "taskd_lease_expiries_total": Family(
            help: "Leases the reaper of this process found overdue (impacted) or lost (requeued, worker_lost, cancelled)."),
        // Redis-side figures (MetricsController, read from Redis: the same on every replica).
        "taskd_tasks": Family(help: "Tasks in Redis by state: queued (ready), delayed, leased, finished (kept until their result TTL)."),
        "taskd_ready_tasks": Family(help: "Tasks ready to claim, by commandType (those named in TASKD_METRICS_COMMAND_TYPES)."),
        // Live feeds (TaskEvents' EventMetrics)
        "taskd_sse_watchers": Family(help: "Open watch streams on this replica."),
        "taskd_sse_slow_watchers_dropped_total": Family(help: "Watchers dropped because they fell too far behind."),
        "taskd_keyspace_notification_gaps_total": Family(help: "Keyspace-notification gaps: the subscription was lost and every feed re-read."),
        // Redis client (RedisClient's RedisMetrics, TaskEngine's EngineMetrics)
        "taskd_redis_commands_total": Family(help: "Redis commands by outcome: ok, error_reply, failed (no answer)."),
        "taskd_redis_reconnects_total": Family(help: "Redis connections made again after one was lost, by connection kind."),
        "taskd_redis_under_replicated_writes_total": Family(
            help: "Transitions answered before TASKD_WAIT_REPLICAS replicas acknowledged them."),
        // Process (MetricsController)
        "taskd_process_resident_memory_bytes": Family(help: "Resident memory of the taskd process."),
        "taskd_process_open_fds": Family(help: "Open file descriptors of the taskd process."),
        "taskd_process_uptime_seconds": Family(help: "Seconds since taskd started."),
        "taskd_build_info": Family(help: "Always 1; the labels say which build runs."),
        "taskd_metrics_redis_read_errors_total": Family(help: "Scrapes whose Redis-side figures could not be read."),
    ]
}
