import Foundation

/// The process figures `/metrics` reports, read from `/proc/self` (Linux).
enum ProcessFigures {
    /// Resident set size: the second field of `/proc/self/statm` (pages) times the page size.
    static func residentMemoryBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Entries of `/proc/self/fd`, less the one the listing itself opens.
    static func openFileDescriptors() -> Int? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return nil }
        return max(0, entries.count - 1)
    }

    /// taskd's version: `info.version` of the bundled openapi.json, the one place it is written.
    static let version: String = {
        guard let data = OpenAPIDocument.data,
              let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let info = document["info"] as? [String: Any], let version = info["version"] as? String
        else { return "unknown" }
        return version
    }()

    /// The compiler that built this binary.
    static let swiftVersion: String = {
        #if swift(>=6.3)
        "6.3"
        #elseif swift(>=6.2)
        "6.2"
        #elseif swift(>=6.1)
        "6.1"
        #else
        "6.0"
        #endif
    }()
}
