import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import Synchronization
import TaskEngine
import TaskEvents

/// Live progress (DESIGN.md §4.3, §6): `GET /v1/tasks/{taskId}/events` as Server-Sent Events.
/// `id:` is the task stream's entry id, `event:` its kind, `data:` the task in the native shape as
/// of that event; `Last-Event-ID` resumes right after it; the stream ends after the terminal event.
struct WatchController {
    let services: APIServices
    let hub: TaskChangeHub

    static let lastEventIDHeader = HTTPField.Name("Last-Event-ID")!

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/v1/tasks/{taskId}/events", .read, .native, watchTask),
            Endpoint(.get, "/v1/events", .read, .native, watchAll),
        ]
    }

    static func resumePosition(_ header: String?) throws -> StreamID? {
        guard let header else { return nil }
        guard let position = StreamID(String(header.trimmingHTTPWhitespace)) else {
            throw APIError.badRequest("invalid_last_event_id", "Last-Event-ID must be an event id this stream sent, such as 1700000000000-0.")
        }
        return position
    }

    @Sendable func watchTask(_ request: Request, context: AppRequestContext) async throws -> Response {
        let taskID = try request.taskID(context)
        let id = taskID.text
        let resumeAfter = try Self.resumePosition(request.headers[Self.lastEventIDHeader])
        let initial = try await services.task(taskID)
        // Subscribe before reading the history, so nothing written in between is missed.
        let subscription = try await hub.subscribe(to: id)
        let base = services.origin.baseURL(of: request, context: context)
        let hub = self.hub
        let store = services.store
        let session = context.session
        return SSE.response(on: context.eventLoop) { writer in
            defer { hub.unsubscribe(subscription, from: id) }
            let sessionWatch = SessionWatch.start(session, store: store, ending: subscription)
            defer { sessionWatch?.cancel() }
            var sent = resumeAfter
            let history = try await store.events(ofTask: id, after: resumeAfter, checkTrimmed: resumeAfter != nil)
            if history.trimmed {
                // Never a silent gap: say that events were trimmed, and show where the task is now.
                try await writer.write(SSE.frame(id: nil, event: "snapshot", data: SSE.snapshot(initial, baseURL: base, trimmed: true)))
            }
            if try await SSE.send(history.events, task: initial, after: &sent, baseURL: base, to: &writer) {
                try await writer.finish(nil)
                return
            }
            // Graceful shutdown ends the stream (an `error` event, then the end): the server waits for
            // every request to finish, and a watch would otherwise keep taskd up for ever.
            let finished = try await withGracefulShutdownHandler {
                for await item in subscription.stream {
                    if subscription.isEnded { break }
                    switch item {
                    case .keepAlive:
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    case .events(let events, let task):
                        if try await SSE.send(events, task: task ?? initial, after: &sent, baseURL: base, to: &writer) { return true }
                    }
                }
                return false
            } onGracefulShutdown: {
                subscription.end("taskd is shutting down")
            }
            if finished {
                try await writer.finish(nil)
                return
            }
            if let reason = subscription.endReason {
                try await writer.write(SSE.frame(id: nil, event: "error", data: #"{"description":"\#(reason)"}"#))
            }
            try await writer.finish(nil)
        }
    }
}

extension WatchController {
    /// Every task's events, optionally only those of one `commandType` and/or `objectName`. The SSE id
    /// is every shard's position (`0:1700000000000-0,…`), so `Last-Event-ID` resumes all of them.
    @Sendable func watchAll(_ request: Request, context: AppRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let commandType = query.get("commandType").map { String($0) }
        let objectName = query.get("objectName").map { String($0) }
        for (name, value) in [("commandType", commandType), ("objectName", objectName)] {
            if let value, value.isEmpty || value.utf8.count > 256 {
                throw APIError.badRequest("invalid_parameter", "\(name) must be 1–256 characters.")
            }
        }
        var resume: ShardPositions?
        if let header = request.headers[Self.lastEventIDHeader] {
            guard let positions = ShardPositions(String(header.trimmingHTTPWhitespace)) else {
                throw APIError.badRequest("invalid_last_event_id", "Last-Event-ID must be an id this stream sent, such as 0:1700000000000-0.")
            }
            resume = positions
        }
        let start = resume
        let subscription = try await hub.subscribeToAllTasks()
        let store = services.store
        let hub = self.hub
        let base = services.origin.baseURL(of: request, context: context)
        let session = context.session
        @Sendable func wanted(_ task: TaskRecord?) -> Bool {
            guard commandType != nil || objectName != nil else { return true }
            guard let task else { return false }
            return (commandType == nil || task.commandType == commandType) && (objectName == nil || task.objectName == objectName)
        }
        return SSE.response(on: context.eventLoop) { writer in
            defer { hub.unsubscribeFromAllTasks(subscription) }
            let sessionWatch = SessionWatch.start(session, store: store, ending: subscription)
            defer { sessionWatch?.cancel() }
            var sent: ShardPositions
            if let start { sent = start } else { sent = try await store.newestShardPositions() }
            if let start {
                var position = start
                while true {
                    // Every page, not only the first: a long replay can be overtaken by trimming
                    // (the full fault suite's watchers lost 1,000-event runs silently that way).
                    let page = try await store.shardEvents(after: position, checkTrimmed: true)
                    if page.trimmed { try await writer.write(SSE.trimmedFrame) }
                    guard !page.events.isEmpty else { break }
                    let byId = try await store.tasksById(page.events.map(\.event.taskId))
                    for (shard, event) in page.events {
                        try await SSE.sendShardEvent(event, shard: shard, task: byId[event.taskId], wanted: wanted, sent: &sent, baseURL: base, to: &writer)
                    }
                    position = page.positions
                }
            }
            // Graceful shutdown ends the stream (an `error` event, then the end): the server waits for
            // every request to finish, and a watch would otherwise keep taskd up for ever.
            try await withGracefulShutdownHandler {
                for await item in subscription.stream {
                    if subscription.isEnded { break }
                    switch item {
                    case .keepAlive:
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    case .trimmed:
                        try await writer.write(SSE.trimmedFrame)
                    case .events(let items):
                        for item in items {
                            try await SSE.sendShardEvent(item.event, shard: item.shard, task: item.task, wanted: wanted, sent: &sent, baseURL: base, to: &writer)
                        }
                    }
                }
            } onGracefulShutdown: {
                subscription.end("taskd is shutting down")
            }
            if let reason = subscription.endReason {
                try await writer.write(SSE.frame(id: nil, event: "error", data: #"{"description":"\#(reason)"}"#))
            }
            try await writer.finish(nil)
        }
    }
}

/// The SSE frames of recent task events, so that ten watchers of one task cost one JSON encoding
/// per event, not ten (the live-push benchmark spent most of taskd's CPU encoding the same task for
/// each watcher). A frame depends on the task, the event and the base URL of links only. Bounded:
/// emptied when full; a miss only costs an encoding.
final class SSEFrameCache: Sendable {
    static let shared = SSEFrameCache(limit: 4096)

    private let frames = Mutex<[String: ByteBuffer]>([:])
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    func frame(taskId: String, eventId: String, baseURL: String, make: () -> ByteBuffer) -> ByteBuffer {
        let key = taskId + " " + eventId + " " + baseURL
        if let hit = frames.withLock({ $0[key] }) { return hit }
        let made = make()
        frames.withLock { frames in
            if frames.count >= limit { frames.removeAll(keepingCapacity: true) }
            frames[key] = made
        }
        return made
    }
}

/// Server-Sent Events framing.
enum SSE {
    /// A stream's response: its headers, and `body` run on the connection's event loop
    /// (``onConnectionLoop(_:_:)``), so its frames go to the socket without a hop each.
    static func response(on eventLoop: any EventLoop, _ body: @Sendable @escaping (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await onConnectionLoop(eventLoop) { try await body(&writer) }
        })
    }

    /// Events this stream should have sent were trimmed from history (the shard stream's MAXLEN)
    /// before they were read: a gap, announced.
    static var trimmedFrame: ByteBuffer {
        frame(id: nil, event: "trimmed", data: #"{"description":"Some events were trimmed from history before this stream sent them; re-read the tasks you follow."}"#)
    }

    static func frame(id: String?, event: String, data: String) -> ByteBuffer {
        var text = ""
        if let id { text += "id: \(id)\n" }
        text += "event: \(event)\n"
        // data may not contain raw newlines: compact JSON from JSONWriter has none.
        text += "data: \(data)\n\n"
        return ByteBuffer(string: text)
    }

    /// Sends the events after `sent`, each with the task as of that event; true after a terminal one.
    /// The frames come from ``SSEFrameCache``: every watcher of a task on this replica gets the same bytes.
    static func send(_ events: [TaskEvent], task: TaskRecord, after sent: inout StreamID?, baseURL: String, to writer: inout any ResponseBodyWriter) async throws -> Bool {
        for event in events {
            guard let position = StreamID(event.id), sent.map({ position > $0 }) ?? true else { continue }
            let bytes = SSEFrameCache.shared.frame(taskId: task.id, eventId: event.id, baseURL: baseURL) {
                frame(id: event.id, event: event.kind, data: snapshot(task.asOf(event), baseURL: baseURL, trimmed: false))
            }
            try await writer.write(bytes)
            sent = position
            if event.isTerminal { return true }
        }
        return false
    }

    /// Sends one event of the all-tasks stream unless it was sent already (or filtered out); its id is
    /// every shard's position after it.
    static func sendShardEvent(
        _ event: TaskEvent, shard: Int, task: TaskRecord?, wanted: @Sendable (TaskRecord?) -> Bool, sent: inout ShardPositions,
        baseURL: String, to writer: inout any ResponseBodyWriter
    ) async throws {
        guard let position = StreamID(event.id), sent.positions[shard].map({ position > $0 }) ?? true else { return }
        sent.positions[shard] = position
        guard wanted(task) else { return }
        let data: String
        if let task {
            data = snapshot(task.asOf(event), baseURL: baseURL, trimmed: false)
        } else {
            data = #"{"taskId":"\#(event.taskId)","lifecycleStatus":"\#(event.status.rawValue)","version":\#(event.version)}"#
        }
        try await writer.write(frame(id: sent.description, event: event.kind, data: data))
    }

    static func snapshot(_ task: TaskRecord, baseURL: String, trimmed: Bool) -> String {
        var text = JSONWriter.text(NativeTaskRepresentation(task, baseURL: baseURL))
        if trimmed {
            text = String(text.dropLast()) + #","historyTrimmed":true}"#
        }
        return text
    }
}

extension TaskRecord {
    /// The task as one of its events left it: the event's status, version, progress and state over
    /// the task as read (at or after the event).
    func asOf(_ event: TaskEvent) -> TaskRecord {
        var task = self
        task.status = event.status
        task.version = event.version
        task.progress = event.progress
        if let state = event.extras["state"] { task.state = state }
        // The entry id's first part is when Redis wrote the event.
        if let written = StreamID(event.id) { task.updatedAt = Int64(written.milliseconds) }
        return task
    }
}
