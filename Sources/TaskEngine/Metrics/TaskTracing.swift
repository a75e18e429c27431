import Tracing

/// Spans of a task's trace (swift-distributed-tracing; without a bootstrapped tracer every call
/// here is a no-op). The trace is the one the create ran in: its `traceparent` is stored with the
/// task, handed to the claiming worker (``ClaimedTask/traceparent``), and the worker's heartbeats and
/// finish run within it (the worker library sets it; HTTP workers send it as a header).
public enum TaskTracing {
    /// The `traceparent` of `context`'s span, nil when it carries none (no tracer, or no span).
    public static func traceparent(of context: ServiceContext) -> String? {
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryInjector())
        return TraceParent.parse(carrier["traceparent"])
    }

    /// A context whose parent span is `traceparent`; nil without one (or without a tracer).
    public static func context(from traceparent: String?) -> ServiceContext? {
        guard let traceparent = TraceParent.parse(traceparent) else { return nil }
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(["traceparent": traceparent], into: &context, using: DictionaryExtractor())
        return self.traceparent(of: context) == nil ? nil : context
    }

    /// Runs `body` in a span named `name` when the current context belongs to a trace; just runs it otherwise.
    static func inSpan<T>(_ name: String, taskId: String, _ body: () async throws -> T) async throws -> T {
        guard let current = ServiceContext.current, traceparent(of: current) != nil else { return try await body() }
        return try await withSpan(name, context: current, ofKind: .internal) { span in
            span.attributes["task.id"] = taskId
            return try await body()
        }
    }

    /// A span `name` of the task's trace from `start` to now (the claim: its trace is known only from the reply).
    static func recordSpan(_ name: String, of task: ClaimedTask, since start: DefaultTracerClock.Instant) {
        guard let parent = context(from: task.traceparent) else { return }
        let span = InstrumentationSystem.tracer.startSpan(name, context: parent, ofKind: .consumer, at: start)
        span.attributes["task.id"] = task.id
        span.attributes["task.command_type"] = task.commandType
        span.attributes["task.attempt"] = task.attempt
        span.end()
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}
