/// The documented limits on what callers may store: the one place they are written. The engine
/// checks every caller-supplied value against them before it reaches Redis; controllers parse,
/// and name these when they describe a limit. Lua keeps only the checks that protect the data from
/// any caller of the contract.
public enum TaskLimits {
    /// commandType: a word a queue is named after.
    public static let commandTypeLength = 1...128
    /// Whether `value` is a commandType the engine accepts (its length and characters).
    public static func isValidCommandType(_ value: String) -> Bool {
        (try? InputCheck.name(value, "commandType", length: commandTypeLength)) != nil
    }
    public static let descriptionLength = 0...4096
    /// params, response and each op's JSON.
    public static let jsonLength = 0...65536
    /// objectName, nodeUid, uniqueKey, state, errorCode.
    public static let nameLength = 0...256
    public static let workerIdLength = 1...256
    public static let errorMessageLength = 0...4096
    public static let opsCount = 0...1024
    public static let opIdLength = 1...128
    public static let leaseTokenLength = 1...128
    public static let idempotencyKeyLength = 1...256
    /// commandTypes one claim may name.
    public static let claimCommandTypes = 1...64
    public static let priority = -1000...1000
    public static let maxAttempts = 1...100
    /// Seconds a finished task is kept: 1 s to 30 days.
    public static let resultTtl = 1...(30 * 86400)
    /// Lease length in ms: 1 s to 1 day.
    public static let lease: ClosedRange<Int64> = 1000...86_400_000
    /// The same in whole seconds, as the HTTP API takes it (`leaseSeconds`).
    public static let leaseSeconds = 1...86_400
    public static let progress: ClosedRange<Double> = 0...100

    /// The lease in ms, or `invalidArgument` when it is outside ``lease``.
    static func checkedLease(_ lease: Duration) throws -> Int64 {
        let ms = lease.milliseconds
        try InputCheck.range(ms, "the lease (ms)", Self.lease)
        return ms
    }

    /// Progress 0–100, finite.
    static func checkProgress(_ progress: Double?) throws {
        guard let progress else { return }
        guard progress.isFinite else { throw InputCheck.invalid("progress must be a number between 0 and 100") }
        try InputCheck.range(progress, "progress", Self.progress)
    }
}
