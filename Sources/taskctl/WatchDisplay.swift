import Foundation

/// What `watch` shows: progress bars redrawn in place on a terminal, or one line per event (for
/// pipes, logs and scripts) with the connection's troubles on standard error.
struct WatchDisplay {
    enum Mode { case bars, lines }
    let mode: Mode
    /// Lines the last redraw wrote, to move back over.
    private var drawn = 0
    private var last: (task: NativeTask, ops: [OpState])?
    private var note = ""

    init(mode: Mode) { self.mode = mode }

    static func forStandardOutput(plain: Bool) -> WatchDisplay {
        WatchDisplay(mode: plain || !Terminal.outputIsTerminal ? .lines : .bars)
    }

    mutating func show(_ event: ServerSentEvent, task: NativeTask, ops: [OpState]) {
        switch mode {
        case .lines:
            var line = "\(event.id ?? "-") \(event.name) \(task.status) \(NativeTask.percent(task.progress)) attempt=\(task.attempt) version=\(task.version)"
            if let state = task.state { line += " state=\(state)" }
            if !ops.isEmpty { line += " ops=" + ops.map { "\($0.id):\(NativeTask.percent($0.progress))" }.joined(separator: ",") }
            Terminal.standardOutput(line)
        case .bars:
            last = (task, ops)
            note = ""
            redraw()
        }
    }

    mutating func broken(_ reason: String, retryingIn delay: Duration) {
        say("connection lost (\(reason)); trying again in \(Self.seconds(delay))", alsoInLineMode: true)
    }

    mutating func resumed(after id: String) {
        say("resumed after event \(id)", alsoInLineMode: true)
    }

    mutating func finish(_ task: NativeTask) {
        switch mode {
        case .lines: Terminal.standardOutput("task \(task.id) \(task.status)")
        case .bars: say("task \(task.status)", alsoInLineMode: false)
        }
    }

    mutating func giveUp() {
        say("gave up: the stream could not be resumed", alsoInLineMode: false)
    }

    /// A note under the bars; in line mode a line on standard error (standard output holds events only).
    private mutating func say(_ text: String, alsoInLineMode: Bool) {
        switch mode {
        case .lines:
            if alsoInLineMode { Terminal.standardError("taskctl: " + text) }
        case .bars:
            note = text
            redraw()
        }
    }

    private mutating func redraw() {
        var lines: [String] = []
        let width = max(10, min(40, Terminal.columns - 40))
        if case let (task, ops)? = last {
            var heading = "\(task.commandType) \(task.id)  \(task.status)  attempt \(task.attempt)"
            if let object = task.objectName { heading += "  \(object)" }
            lines.append(heading)
            lines.append(Self.bar(task.progress, width: width) + "  task  " + (task.state ?? ""))
            let label = ops.map(\.id.count).max() ?? 0
            for op in ops {
                let detail = [op.name, op.statusCode].compactMap { $0 }.joined(separator: " ")
                lines.append(Self.bar(op.progress, width: width) + "  op \(op.id.padding(toLength: label, withPad: " ", startingAt: 0))  \(detail)")
            }
        }
        lines.append(note)
        // Back to the first line of the last drawing, then each line cleared and written anew.
        // (CUU and a carriage return: every terminal and tmux know them.)
        var text = drawn > 0 ? "\u{1B}[\(drawn)A\r" : ""
        for line in lines { text += "\u{1B}[2K" + line + "\n" }
        if lines.count < drawn { text += String(repeating: "\u{1B}[2K\n", count: drawn - lines.count) + "\u{1B}[\(drawn - lines.count)A\r" }
        Terminal.write(text)
        drawn = lines.count
    }

    /// `[########------------]   40%` (percent right-aligned to 5 columns, for 58.3%), ASCII so any terminal and `tmux capture-pane` show it.
    static func bar(_ progress: Double, width: Int) -> String {
        let clamped = min(max(progress, 0), 100)
        let filled = Int((clamped / 100 * Double(width)).rounded(.down))
        let percent = NativeTask.percent(clamped)
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            + String(repeating: " ", count: max(0, 5 - percent.count)) + percent
    }

    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return String(format: "%.1f s", Double(milliseconds) / 1000)
    }
}
