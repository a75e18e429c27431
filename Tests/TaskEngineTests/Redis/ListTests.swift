import TaskEngine
import TestSupport
import Testing

@Suite(.tags(.redis)) struct ListTests {
    /// 250 tasks over 4 shards, pages of 40: every task exactly once, newest update first.
    @Test func cursorPaginationAcrossShards() async throws {
        let clock = PinnedClock()
        try await withStore(shards: 4, clock: clock) { store in
            var ids: [String] = []
            for index in 0..<250 {
                // Every third task shares its update time with the one before: ties are ordered by id.
                if index % 3 != 0 { clock.advance(by: .milliseconds(1)) }
                ids.append(try await store.create(NewTask(commandType: index % 2 == 0 ? "even" : "odd", kind: index % 5 == 0 ? .stateMachine : .task,
                                                          objectName: index % 10 == 0 ? "bdb:7" : nil)).id)
            }
            var listed: [TaskRecord] = []
            var cursor: String?
            repeat {
                let page = try await store.list(TaskQuery(limit: 40, cursor: cursor))
                listed += page.tasks
                cursor = page.nextCursor
            } while cursor != nil
            #expect(listed.count == 250)
            #expect(Set(listed.map(\.id)) == Set(ids))
            let order = listed.map { ($0.updatedAt, $0.id) }
            #expect(zip(order, order.dropFirst()).allSatisfy { $0 > $1 }, "strictly by (updatedAt, id) descending")

            let odd = try await store.list(TaskQuery(commandType: "odd", limit: 1000))
            #expect(odd.tasks.count == 125 && odd.tasks.allSatisfy { $0.commandType == "odd" })
            let machines = try await store.list(TaskQuery(kind: .stateMachine, limit: 1000))
            #expect(machines.tasks.count == 50)
            let object = try await store.list(TaskQuery(objectName: "bdb:7", limit: 10))
            #expect(object.tasks.count == 10 && object.nextCursor != nil)
            let rest = try await store.list(TaskQuery(objectName: "bdb:7", limit: 100, cursor: object.nextCursor))
            #expect(rest.tasks.count == 15 && rest.nextCursor == nil)
            let queued = try await store.list(TaskQuery(statuses: [.queued], limit: 1000))
            #expect(queued.tasks.count == 250)
            let running = try await store.list(TaskQuery(statuses: [.running], limit: 1000))
            #expect(running.tasks.isEmpty && running.nextCursor == nil)
        }
    }
}
