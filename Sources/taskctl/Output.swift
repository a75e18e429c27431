import Foundation

/// Standard output and error, and whether output goes to a terminal.
enum Terminal {
    static func standardOutput(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func standardError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Writes without a newline (progress bars redraw in place).
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static var outputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Columns of the terminal standard output is, 80 when it cannot tell.
    static var columns: Int {
        var size = winsize()
        let status = withUnsafeMutablePointer(to: &size) { ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), $0) }
        guard status == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}

/// `--output json`: taskd's answer re-encoded with sorted keys and indentation, so a field always
/// sits in the same place (alphabetical at every level) whatever order taskd wrote it in.
enum JSONOutput {
    static func render(_ object: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }

    static func print(_ object: Any) throws {
        Terminal.standardOutput(try render(object))
    }

    /// The body of an answer as a JSON value; a failure when it is not JSON.
    static func parse(_ data: Data) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw TaskctlFailure(.failure, "taskctl: taskd answered something that is not JSON (\(data.count) bytes)")
        }
    }

    static func object(_ data: Data) throws -> [String: Any] {
        guard let object = try parse(data) as? [String: Any] else {
            throw TaskctlFailure(.failure, "taskctl: taskd answered JSON that is not an object")
        }
        return object
    }
}

/// A plain text table: a header row, columns padded to their widest cell, two spaces apart.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    func render() -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

/// Field access on a task as taskd's native representation has it (GET /v1/tasks/{taskId}, SSE data).
struct NativeTask {
    let fields: [String: Any]

    init(_ fields: [String: Any]) { self.fields = fields }

    var id: String { fields["taskId"] as? String ?? "?" }
    var commandType: String { fields["commandType"] as? String ?? "" }
    /// The canonical status word (queued … dismissed).
    var status: String { fields["lifecycleStatus"] as? String ?? "?" }
    var progress: Double { (fields["progress"] as? NSNumber)?.doubleValue ?? 0 }
    var state: String? { fields["state"] as? String }
    var objectName: String? { fields["objectName"] as? String }
    var attempt: Int { (fields["attempt"] as? NSNumber)?.intValue ?? 0 }
    var version: Int { (fields["version"] as? NSNumber)?.intValue ?? 0 }
    var timestamp: String { fields["timestamp"] as? String ?? "" }

    static let terminalStatuses: Set<String> = ["completed", "failed", "cancelled", "dismissed"]
    var isTerminal: Bool { Self.terminalStatuses.contains(status) }

    /// What `watch` exits with once the task is in `status`.
    var exitStatus: ExitStatus {
        switch status {
        case "completed": .success
        case "cancelled": .taskCancelled
        default: .taskFailed
        }
    }

    /// "42%", without a fraction unless it has one.
    static func percent(_ value: Double) -> String {
        value.rounded() == value ? "\(Int(value))%" : String(format: "%.1f%%", value)
    }
}
