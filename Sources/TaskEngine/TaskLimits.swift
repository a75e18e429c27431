/// The documented limits on what callers may store. Everything is checked before it reaches Redis.
public enum TaskLimits {
    /// commandType: a word a queue is named after.
    public static let commandTypeLength = 1...128
    public static let descriptionLength = 0...4096
    /// params, response and each op's JSON.
    public static let jsonLength = 0...65536
    public static let nameLength = 0...256
    public static let errorMessageLength = 0...4096
    public static let opsCount = 0...1024
    public static let priority = -1000...1000
    public static let maxAttempts = 1...100
    /// Seconds a finished task is kept: 1 s to 30 days.
    public static let resultTtl = 1...(30 * 86400)
    /// Lease length in ms: 1 s to 1 day.
    public static let lease: ClosedRange<Int64> = 1000...86_400_000
    public static let progress: ClosedRange<Double> = 0...100
}
