import RESP

/// One script of `Lua/` as a Swift value: its name, the keys it touches in a shard, its typed
/// arguments and its decoded reply. ``TaskStore/perform(_:in:now:)`` runs every transition the same
/// way, so a new transition is one Lua file plus one Swift file (this type and the ``TaskStore``
/// method that builds it), and one line in ``TaskScripts/transitions``.
///
/// The key count is the number in the script's file name (`claim-5.lua`): ``TaskScripts`` checks
/// the two agree when it loads the folder, and ``TaskStore/perform(_:in:now:)`` that `keys(in:)`
/// returns that many.
protocol TaskTransition: Sendable {
    associatedtype Reply: Sendable
    /// The script's name without its key count: `claim` for `Lua/claim-5.lua`.
    static var scriptName: String { get }
    /// `numkeys` of its `EVALSHA`, as in the file name.
    static var keyCount: Int { get }
    /// Reply codes besides 0 that are an answer rather than a refusal (claim's `EMPTY`).
    static var answerCodes: Set<Int> { get }
    /// The task the call is about, for error messages; nil for housekeeping and claims.
    var taskId: String? { get }
    /// `KEYS[1…keyCount]` in the order of the script's header.
    func keys(in shard: ShardKeys) -> [String]
    /// `ARGV[1…]` in the order of the script's header; `call.now` is always `ARGV[1]`.
    func arguments(_ call: TransitionCall) -> [RESPArgument]
    /// The OK reply (or an answer code), read field by field in the order the header documents.
    func decode(_ reply: inout ScriptReplyFields) throws -> Reply
    /// The status change the reply reports, for ``EngineMetrics``; nil when the call moved no task.
    func observation(of reply: Reply) -> TransitionObservation?
}

extension TaskTransition {
    static var answerCodes: Set<Int> { [] }
    var taskId: String? { nil }
    func observation(of reply: Reply) -> TransitionObservation? { nil }
}

/// What every call of a transition shares: the time, the shard, the stream limits.
struct TransitionCall: Sendable {
    /// ms since the epoch: `ARGV[1]` of every script (no script reads Redis's clock).
    let now: Int64
    let shard: ShardKeys
    let taskEventsMaxLen: Int
    let shardEventsMaxLen: Int

    var nowArgument: RESPArgument { .string(String(now)) }
    /// `taskEventsMaxLen` and `shardEventsMaxLen`, the two arguments every writing script ends with.
    var streamLimits: [RESPArgument] { [.integer(taskEventsMaxLen), .integer(shardEventsMaxLen)] }
}
