import NIOCore

/// One Server-Sent Event as taskd frames them: `id:` (the task stream's entry id), `event:` and
/// `data:` (the task as JSON).
struct ServerSentEvent: Equatable {
    var id: String?
    var name: String
    var data: String
}

/// Turns the bytes of a `text/event-stream` body into events, however the chunks split them.
/// Comment lines (`: keep-alive`) are skipped; an event ends at a blank line (WHATWG SSE rules).
struct ServerSentEventParser {
    private var pending: [UInt8] = []
    private var id: String?
    private var name: String?
    private var data: [String] = []

    /// The events completed by `buffer`.
    mutating func feed(_ buffer: ByteBuffer) -> [ServerSentEvent] {
        pending.append(contentsOf: buffer.readableBytesView)
        var events: [ServerSentEvent] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            var line = pending[..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            let text = String(decoding: line, as: UTF8.self)
            pending.removeSubrange(...newline)
            if let event = take(text) { events.append(event) }
        }
        return events
    }

    private mutating func take(_ line: String) -> ServerSentEvent? {
        if line.isEmpty {
            defer { id = nil; name = nil; data = [] }
            guard !data.isEmpty || name != nil else { return nil }
            return ServerSentEvent(id: id, name: name ?? "message", data: data.joined(separator: "\n"))
        }
        if line.hasPrefix(":") { return nil }
        let field = line.prefix(while: { $0 != ":" })
        var value = line.dropFirst(field.count).dropFirst()
        if value.hasPrefix(" ") { value = value.dropFirst() }
        switch field {
        case "id": id = String(value)
        case "event": name = String(value)
        case "data": data.append(String(value))
        default: break
        }
        return nil
    }
}
