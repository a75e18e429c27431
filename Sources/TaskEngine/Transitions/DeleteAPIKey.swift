import RESP

/// `delete-key-2`: delete an API key, refusing the last admin key in the same script.
struct DeleteAPIKeyTransition: TaskTransition {
    static let scriptName = "delete-key"
    static let keyCount = 2
    /// NOT_FOUND is an answer here: the route says 404 in its own words.
    static let answerCodes: Set<Int> = [1]

    var keys: APIKeyStore
    var keyId: String

    func keys(in shard: ShardKeys) -> [String] {
        [keys.recordKey(keyId), keys.indexKey]
    }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [call.nowArgument, .string(keyId)]
    }

    /// `{0}` deleted, `{1}` none.
    func decode(_ reply: inout ScriptReplyFields) throws -> Bool {
        reply.code == 0
    }
}

extension TaskStore {
    /// Deletes an API key; false when there was none. Throws `lastAdminKey` for the only admin key.
    public func deleteAPIKey(_ keyId: String) async throws -> Bool {
        guard APIKeyStore.isValidKey(keyId) else { return false }
        return try await perform(DeleteAPIKeyTransition(keys: apiKeys, keyId: keyId), in: keyspace.shard(0))
    }
}
