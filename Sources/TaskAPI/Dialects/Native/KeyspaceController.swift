import Hummingbird
import TaskEngine

/// `GET /v1/keyspace[?taskId=…]`: this deployment's Redis key names, for operators who watch and
/// debug with `redis-cli` (`taskctl redis` prints the commands). Every name comes from
/// ``TaskKeyspace``, the only place that spells keys; shard tags such as `taskd:0.1739` cannot be
/// guessed. Operators and admins only: it tells where everything lives.
struct KeyspaceController {
    let services: APIServices

    var endpoints: [Endpoint] {
        [Endpoint(.get, "/v1/keyspace", .operate, .native, keyspace)]
    }

    struct Shard: Encodable {
        var shard: Int
        var tag: String
        var keyPrefix: String
        var events: String
        var leases: String
        var delayed: String
        var updatedIndex: String
        var activeIndex: String
        var finishedIndex: String
        var objectIndex: String
        var unique: String
        var idempotency: String
        /// `<keyPrefix>queue:*`: one ready queue per commandType.
        var queuePattern: String

        init(_ keys: ShardKeys) {
            shard = keys.number
            tag = keys.tag
            keyPrefix = keys.base
            events = keys.events
            leases = keys.leases
            delayed = keys.delayed
            updatedIndex = keys.updatedIndex
            activeIndex = keys.activeIndex
            finishedIndex = keys.finishedIndex
            objectIndex = keys.objectIndex
            unique = keys.unique
            idempotency = keys.idempotency
            queuePattern = keys.queue("*")
        }
    }

    struct TaskKeys: Encodable {
        var taskId: String
        var shard: Int
        var commandType: String
        var lifecycleStatus: String
        var hash: String
        var events: String
        /// The ready queue of its commandType (what `cancel-11` takes as KEYS[3]).
        var queue: String
    }

    struct Answer: Encodable {
        var prefix: String
        var shardCount: Int
        var shards: [Shard]
        var task: TaskKeys?
    }

    @Sendable func keyspace(_ request: Request, context: AppRequestContext) async throws -> Response {
        let keyspace = services.store.keyspace
        var answer = Answer(prefix: keyspace.prefix, shardCount: keyspace.shardCount, shards: keyspace.shards.map(Shard.init), task: nil)
        if let text = request.uri.queryParameters.get("taskId") {
            guard let id = TaskID(String(text)), let keys = keyspace.shard(ofTask: id.text) else { throw APIError.taskNotFound(String(text)) }
            // Read it: an unknown task is a 404, and its queue key needs its commandType.
            let task = try await services.task(id)
            answer.task = TaskKeys(taskId: id.text, shard: keys.number, commandType: task.commandType, lifecycleStatus: task.status.rawValue,
                                   hash: keys.task(id.text), events: keys.taskEvents(id.text), queue: keys.queue(task.commandType))
        }
        return try jsonResponse(answer)
    }
}
