import Foundation
import RedisClient

/// The lifecycle scripts of the top-level `Lua/` folder, bundled with this module, one per
/// ``TaskTransition`` type.
///
/// Loading checks the folder against the Swift side: every transition has its script, the key count
/// in the script's file name is the one the transition passes, and no script lies there unused.
public struct TaskScripts: Sendable {
    /// Every transition the engine runs. A new one is added here, beside its Lua file.
    static let transitions: [any TaskTransition.Type] = [
        CreateTransition.self, ClaimTransition.self, HeartbeatTransition.self, CompleteTransition.self,
        FailTransition.self, CancelTransition.self, AcknowledgeCancelTransition.self, DismissTransition.self,
        DeleteTransition.self, ExtendResultTTLTransition.self, ExpireLeasesTransition.self,
        PromoteDelayedTransition.self, RetentionTransition.self, ReleaseTransition.self, AuthThrottleTransition.self,
        DeleteAPIKeyTransition.self,
    ]

    private let byName: [String: RedisScript]

    /// The bundled scripts, read, flattened and hashed once per process: every `TaskStore` without
    /// scripts of its own shares them (a test process makes hundreds of stores at once, and reading
    /// the folder each time held its threads for seconds).
    private static let bundledScripts: Result<TaskScripts, TaskEngineError> = {
        do {
            return .success(try TaskScripts())
        } catch let error as TaskEngineError {
            return .failure(error)
        } catch {
            return .failure(TaskEngineError(.invalidConfiguration, "the bundled Lua scripts: \(error)"))
        }
    }()

    /// The copy of `Lua/` bundled with this module (read once).
    public static func bundled() throws -> TaskScripts { try bundledScripts.get() }

    /// Every script, for `SCRIPT LOAD` at start and `SCRIPT EXISTS` in readiness checks.
    public let all: [RedisScript]

    /// Reads the scripts from `directory`, or from the copy of `Lua/` bundled with this module.
    public init(directory: URL? = nil) throws {
        guard let directory = directory ?? Bundle.module.url(forResource: "Lua", withExtension: nil) else {
            throw TaskEngineError(.invalidConfiguration, "the Lua scripts are not bundled with taskd (no Lua folder in \(Bundle.module.bundlePath))")
        }
        let library = try ScriptLibrary(directory: directory)
        var byName: [String: RedisScript] = [:]
        var unused = Set(library.scripts.keys)
        for transition in Self.transitions {
            let fileName = "\(transition.scriptName)-\(transition.keyCount)"
            guard let script = library[fileName] else {
                let found = library.scripts.keys.filter { Self.baseName(of: $0) == transition.scriptName }.sorted()
                let detail = found.isEmpty
                    ? "there is no \(transition.scriptName)-N.lua"
                    : "its script is \(found.map { $0 + ".lua" }.joined(separator: ", ")): the key count in the file name must match the keys \(transition) passes"
                throw TaskEngineError(.invalidConfiguration, "\(transition) needs Lua/\(fileName).lua (\(transition.keyCount) keys), but \(detail)")
            }
            byName[transition.scriptName] = script
            unused.remove(fileName)
        }
        guard unused.isEmpty else {
            throw TaskEngineError(.invalidConfiguration, "Lua/ holds scripts no transition runs: \(unused.sorted().map { $0 + ".lua" }.joined(separator: ", ")); add a TaskTransition for each to TaskScripts.transitions")
        }
        self.byName = byName
        self.all = Self.transitions.compactMap { byName[$0.scriptName] }
    }

    /// The script of `transition`; present for every registered type (checked at init).
    func script<T: TaskTransition>(for transition: T.Type) -> RedisScript {
        guard let script = byName[T.scriptName] else {
            preconditionFailure("\(T.self) is not in TaskScripts.transitions")
        }
        return script
    }

    /// `claim` for `claim-5`.
    static func baseName(of fileName: String) -> String {
        guard let dash = fileName.lastIndex(of: "-"), fileName[fileName.index(after: dash)...].allSatisfy(\.isNumber) else { return fileName }
        return String(fileName[..<dash])
    }
}
