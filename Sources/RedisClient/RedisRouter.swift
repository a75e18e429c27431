/// Decides which node's pool serves a hash slot.
///
/// The client sends every command through its router, by the slot of the command's keys, so Redis
/// Cluster support is a router that knows the slot map; nothing above the client changes.
public protocol RedisRouter: Sendable {
    /// Every node pool, for running them and for keyless commands that must reach all nodes.
    var pools: [RedisConnectionPool] { get }
    /// The pool for `slot`; keyless commands (`slot == nil`) go to any node.
    func pool(forSlot slot: Int?) throws -> RedisConnectionPool
}

/// One Redis server owns every slot.
struct StandaloneRouter: RedisRouter {
    let pool: RedisConnectionPool
    var pools: [RedisConnectionPool] { [pool] }
    func pool(forSlot slot: Int?) throws -> RedisConnectionPool { pool }
}
