import Foundation
import Testing

/// "One door to Redis" (ARCHITECTURE.md): only TaskEngine, and the taskd executable that assembles
/// the services, import RedisClient or RESP. Package.swift leaves them out of the other modules'
/// dependencies; this reads the sources too, since SwiftPM lets a module import a dependency's
/// dependencies.
@Suite struct ModuleBoundaryTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../Sources").standardized
    /// The engine, and the taskd executable that assembles the Redis client, the engine and the services.
    /// Workers (the demo worker included) get their store from `TaskStore.connecting(to:…)`.
    static let allowed: Set<String> = ["CHiredis", "RESP", "RedisClient", "TaskEngine", "taskd"]

    @Test func onlyTheEngineImportsTheRedisClient() throws {
        var offenders: [String] = []
        let modules = try FileManager.default.contentsOfDirectory(atPath: Self.sources.path)
        #expect(modules.contains("TaskAPI") && modules.contains("TaskEvents") && modules.contains("TaskWorker") && modules.contains("taskd-demo-worker"))
        for module in modules where !Self.allowed.contains(module) {
            let folder = Self.sources.appendingPathComponent(module)
            guard let files = FileManager.default.enumerator(atPath: folder.path) else { continue }
            for case let file as String in files where file.hasSuffix(".swift") {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ")
                    if words.contains("import"), words.last == "RedisClient" || words.last == "RESP" {
                        offenders.append("\(module)/\(file): \(line)")
                    }
                }
            }
        }
        #expect(offenders.isEmpty, "these go around the engine: \(offenders)")
    }

    /// "taskctl ──► the HTTP API, a client like any other": it imports none of taskd's modules.
    @Test func taskctlImportsNoTaskdModule() throws {
        let own: Set<String> = ["CHiredis", "RESP", "RedisClient", "TaskEngine", "TaskEvents", "TaskAPI", "TaskWorker"]
        let folder = Self.sources.appendingPathComponent("taskctl")
        let files = try #require(FileManager.default.enumerator(atPath: folder.path)).compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        #expect(files.contains("main.swift"))
        var offenders: [String] = []
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("import ") {
                if let module = line.split(separator: " ").last, own.contains(String(module)) { offenders.append("\(file): \(line)") }
            }
        }
        #expect(offenders.isEmpty, "taskctl speaks HTTP only: \(offenders)")
    }
}
