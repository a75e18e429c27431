/// What a client asks for when it creates a task (DESIGN.md §4.1).
public struct NewTask: Sendable, Hashable {
    public var commandType: String
    public var kind: TaskKind
    public var description: String?
    /// JSON text, stored as given (the API checks that it is JSON).
    public var params: String?
    public var objectName: String?
    public var nodeUid: String?
    /// Sub-operation ids, e.g. shard ids.
    public var ops: [String]
    /// Seconds the finished task is kept; nil = the configured default.
    public var resultTtl: Int?
    public var maxAttempts: Int
    /// Delayed start, ms since the epoch.
    public var runAt: Int64?
    public var priority: Int
    /// While an unfinished task holds this key, another create with it is refused.
    public var uniqueKey: String?
    /// A retried create with the same key returns the first task.
    public var idempotencyKey: String?
    /// The W3C `traceparent` of the request that creates the task (``TraceParent``); claims hand it on.
    public var traceparent: String?

    public init(
        commandType: String, kind: TaskKind = .task, description: String? = nil, params: String? = nil,
        objectName: String? = nil, nodeUid: String? = nil, ops: [String] = [], resultTtl: Int? = nil,
        maxAttempts: Int = 1, runAt: Int64? = nil, priority: Int = 0, uniqueKey: String? = nil,
        idempotencyKey: String? = nil
    ) {
        self.commandType = commandType
        self.kind = kind
        self.description = description
        self.params = params
        self.objectName = objectName
        self.nodeUid = nodeUid
        self.ops = ops
        self.resultTtl = resultTtl
        self.maxAttempts = maxAttempts
        self.runAt = runAt
        self.priority = priority
        self.uniqueKey = uniqueKey
        self.idempotencyKey = idempotencyKey
    }

    /// Throws `invalidArgument` with a sentence naming the field and its limit.
    public func validate() throws {
        try InputCheck.name(commandType, "commandType", length: TaskLimits.commandTypeLength)
        try InputCheck.text(description, "description", length: TaskLimits.descriptionLength)
        try InputCheck.text(params, "params", length: TaskLimits.jsonLength)
        try InputCheck.line(objectName, "objectName", length: TaskLimits.nameLength)
        try InputCheck.line(nodeUid, "nodeUid", length: TaskLimits.nameLength)
        try InputCheck.range(ops.count, "the number of ops", TaskLimits.opsCount)
        for op in ops { try InputCheck.opId(op) }
        guard Set(ops).count == ops.count else { throw InputCheck.invalid("op ids must be unique") }
        if let resultTtl { try InputCheck.range(resultTtl, "resultTtl (seconds)", TaskLimits.resultTtl) }
        try InputCheck.range(maxAttempts, "maxAttempts", TaskLimits.maxAttempts)
        try InputCheck.range(priority, "priority", TaskLimits.priority)
        if let runAt, runAt < 0 { throw InputCheck.invalid("runAt must not be before 1970") }
        try InputCheck.line(uniqueKey, "uniqueKey", length: TaskLimits.nameLength)
        if let idempotencyKey { try InputCheck.word(idempotencyKey, "the Idempotency-Key", length: TaskLimits.idempotencyKeyLength) }
        if let traceparent, !TraceParent.isValid(traceparent) { throw InputCheck.invalid("traceparent must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)") }
    }
}

/// The checks every caller-supplied value passes before it is sent to Redis.
enum InputCheck {
    static func invalid(_ message: String) -> TaskEngineError {
        TaskEngineError(.invalidArgument, message)
    }

    static func range<T: Comparable>(_ value: T, _ name: String, _ range: ClosedRange<T>) throws {
        guard range.contains(value) else {
            throw invalid("\(name) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
    }

    static func length(_ value: String, _ name: String, _ range: ClosedRange<Int>) throws {
        let count = value.utf8.count
        guard range.contains(count) else {
            throw invalid(count < range.lowerBound ? "\(name) must not be empty" : "\(name) must be at most \(range.upperBound) bytes, got \(count)")
        }
    }

    /// Free text (newlines allowed), no NUL.
    static func text(_ value: String?, _ name: String, length range: ClosedRange<Int>) throws {
        guard let value else { return }
        try length(value, name, range)
        guard !value.utf8.contains(0) else { throw invalid("\(name) must not contain NUL characters") }
    }

    /// One line: no control characters (index entries are newline-separated).
    static func line(_ value: String?, _ name: String, length range: ClosedRange<Int>) throws {
        guard let value else { return }
        try length(value, name, range)
        guard !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw invalid("\(name) must be one line without control characters")
        }
    }

    /// One word: printable, no spaces (stored space-separated).
    static func word(_ value: String, _ name: String, length range: ClosedRange<Int>) throws {
        try length(value, name, range)
        guard !value.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw invalid("\(name) must not contain spaces or control characters, got \"\(value)\"")
        }
    }

    /// An op id: a word without quotes or backslashes (it is a key of the JSON objects of ops).
    static func opId(_ value: String) throws {
        try word(value, "an op id", length: TaskLimits.opIdLength)
        guard !value.utf8.contains(UInt8(ascii: "\"")), !value.utf8.contains(UInt8(ascii: "\\")) else {
            throw invalid("an op id must not contain quotes or backslashes, got \"\(value)\"")
        }
    }

    /// A lease token as claim made it: a word.
    static func leaseToken(_ token: String) throws {
        try word(token, "leaseToken", length: TaskLimits.leaseTokenLength)
    }

    /// A queue name: letters, digits and `_ . : -`.
    static func name(_ value: String, _ name: String, length range: ClosedRange<Int>) throws {
        try length(value, name, range)
        guard value.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.:-".unicodeScalars.contains($0)) }) else {
            throw invalid("\(name) may only contain letters, digits and _ . : -, got \"\(value)\"")
        }
    }
}
