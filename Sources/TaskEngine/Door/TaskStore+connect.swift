import Logging
import RedisClient
import ServiceLifecycle

extension TaskStore {
    /// A store on the Redis that `url` names (any form taskd takes: `redis://`, `rediss://`, cluster
    /// seeds, `redis+sentinel://`), for processes that need the engine but should not hold a Redis
    /// client themselves (workers). `caFile` signs the servers' certificates for TLS. Run
    /// ``connection`` in the process's `ServiceGroup`, before the services that use the store.
    public static func connecting(
        to url: String, caFile: String? = nil, configuration: TaskEngineConfiguration, logger: Logger
    ) throws -> TaskStore {
        var redisConfiguration = try RedisConfiguration(url: url)
        if let caFile {
            guard redisConfiguration.tls != nil else {
                throw TaskEngineError(.invalidConfiguration, "a CA file is for TLS: the Redis URL must start with rediss://")
            }
            redisConfiguration.tls?.caFile = caFile
        }
        return try TaskStore(redis: RedisClient(configuration: redisConfiguration, logger: logger), configuration: configuration, logger: logger)
    }

    /// The Redis connections (pools, pub/sub, topology) as a service: run it for as long as the store is used.
    public var connection: any Service { redis }

    /// Where the store's Redis is, for logs (never a password).
    public var redisTarget: String { redis.configuration.targetDescription }
}
