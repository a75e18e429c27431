import Foundation
import RedisClient

/// The lifecycle scripts of the top-level `Lua/` folder, bundled with this module.
public struct TaskScripts: Sendable {
    let create: RedisScript
    let claim: RedisScript
    let heartbeat: RedisScript
    let complete: RedisScript
    let fail: RedisScript
    let cancel: RedisScript
    let ackCancel: RedisScript
    let dismiss: RedisScript
    let delete: RedisScript
    let extendTTL: RedisScript
    let expireLeases: RedisScript
    let promoteDelayed: RedisScript
    let retention: RedisScript

    /// Every script, for `SCRIPT LOAD` at start.
    public var all: [RedisScript] {
        [create, claim, heartbeat, complete, fail, cancel, ackCancel, dismiss, delete, extendTTL,
         expireLeases, promoteDelayed, retention]
    }

    /// Reads the scripts from `directory`, or from the copy of `Lua/` bundled with this module.
    public init(directory: URL? = nil) throws {
        guard let directory = directory ?? Bundle.module.url(forResource: "Lua", withExtension: nil) else {
            throw TaskEngineError(.invalidConfiguration, "the Lua scripts are not bundled with taskd (no Lua folder in \(Bundle.module.bundlePath))")
        }
        let library = try ScriptLibrary(directory: directory)
        create = try library.script("create-10")
        claim = try library.script("claim-5")
        heartbeat = try library.script("heartbeat-5")
        complete = try library.script("complete-9")
        fail = try library.script("fail-10")
        cancel = try library.script("cancel-11")
        ackCancel = try library.script("ack-cancel-9")
        dismiss = try library.script("dismiss-6")
        delete = try library.script("delete-7")
        extendTTL = try library.script("extend-ttl-4")
        expireLeases = try library.script("expire-leases-8")
        promoteDelayed = try library.script("promote-delayed-1")
        retention = try library.script("retention-4")
    }
}
