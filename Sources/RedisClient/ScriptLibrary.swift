import Foundation

/// Lua scripts read from a folder, with `-- @include "name"` lines replaced by `include/name.lua`.
///
/// Each include is inserted once per script, however often it is named (also through other
/// includes), so helpers can include what they use without defining anything twice.
public struct ScriptLibrary: Sendable {
    public let scripts: [String: RedisScript]

    public init(scripts: [RedisScript]) {
        self.scripts = Dictionary(scripts.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Reads every `*.lua` directly in `directory`; its includes come from `directory/include`.
    /// A script's name is its file name without `.lua` (`claim-5`).
    public init(directory: URL) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".lua") }
            .sorted()
        let includeDirectory = directory.appendingPathComponent("include")
        var scripts: [RedisScript] = []
        for file in files {
            let source = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            var seen: Set<String> = []
            let flat = try Self.flatten(source, file: file, includeDirectory: includeDirectory, seen: &seen, depth: 0)
            scripts.append(RedisScript(name: String(file.dropLast(4)), source: flat))
        }
        self.init(scripts: scripts)
    }

    public subscript(name: String) -> RedisScript? { scripts[name] }

    /// The script called `name`; throws with the names available when there is none.
    public func script(_ name: String) throws -> RedisScript {
        guard let script = scripts[name] else {
            throw ScriptLibraryError(message: "no script '\(name)' (have: \(scripts.keys.sorted().joined(separator: ", ")))")
        }
        return script
    }

    static func flatten(_ source: String, file: String, includeDirectory: URL, seen: inout Set<String>, depth: Int) throws -> String {
        guard depth < 16 else { throw ScriptLibraryError(message: "includes nested too deeply in \(file)") }
        var out: [Substring] = []
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let name = includeName(line) else {
                out.append(line)
                continue
            }
            guard seen.insert(name).inserted else { continue }
            let url = includeDirectory.appendingPathComponent(name + ".lua")
            guard let included = try? String(contentsOf: url, encoding: .utf8) else {
                throw ScriptLibraryError(message: "\(file) includes \"\(name)\", but \(url.path) cannot be read")
            }
            let flat = try flatten(included, file: name + ".lua", includeDirectory: includeDirectory, seen: &seen, depth: depth + 1)
            out.append(Substring(flat.hasSuffix("\n") ? String(flat.dropLast()) : flat))
        }
        return out.joined(separator: "\n")
    }

    /// `-- @include "name"` → `name`.
    static func includeName(_ line: Substring) -> String? {
        let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
        guard trimmed.hasPrefix("-- @include ") else { return nil }
        let rest = trimmed.dropFirst("-- @include ".count).trimmingTrailingSpace()
        guard rest.count >= 2, rest.first == "\"", rest.last == "\"" else { return nil }
        return String(rest.dropFirst().dropLast())
    }
}

public struct ScriptLibraryError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension Substring {
    fileprivate func trimmingTrailingSpace() -> Substring {
        var s = self
        while let last = s.last, last == " " || last == "\t" || last == "\r" { s = s.dropLast() }
        return s
    }
}
