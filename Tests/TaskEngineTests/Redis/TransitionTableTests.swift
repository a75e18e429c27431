import RESP
import RedisClient
@testable import TaskEngine
import TestSupport
import Testing

/// DESIGN.md §2 as a table: a start state built through the store, a call, and either the new
/// status or the refusal — and for every refusal, no key of the shard changed (`keyspaceDigest`
/// before and after: every key's content and expiry, as `DEBUG DIGEST` is off on a stock Redis 7).
@Suite(.tags(.redis)) struct TransitionTableTests {
    enum Start: String, CaseIterable, Sendable {
        case queued, starting, running, impacted, cancelling, commitPhase, completed, failed, cancelled, dismissed
    }

    enum Call: String, CaseIterable, Sendable {
        case claim, heartbeat, complete, fail, failLastAttempt, cancel, cancelForce, acknowledge, release, dismiss, delete
    }

    /// The expected outcome: a status, or an error code.
    enum Outcome: Equatable, Sendable {
        case status(TaskStatus)
        case refused(TaskEngineError.Code)
        case deleted
        case noTask
    }

    // Short names for the table's cells.
    private static let stale = Outcome.refused(.staleLease)
    private static let wrong = Outcome.refused(.wrongStatus)
    private static let commit = Outcome.refused(.notCancellable)
    private static let none = Outcome.noTask
    private static let gone = Outcome.deleted
    private static func to(_ status: TaskStatus) -> Outcome { .status(status) }

    /// DESIGN.md §2 as data: each call's outcome from each start state, columns in `Start` order.
    /// `fail` has attempts left (3), `failLastAttempt` has none; `none` = the claim found nothing
    /// and changed nothing; `gone` = deleted.
    static let table: [Call: [Outcome]] = [
        //                 queued            starting         running          impacted         cancelling        commitPhase      completed  failed             cancelled  dismissed
        .claim:           [to(.starting),    none,            none,            none,            none,             none,            none,      none,              none,      none],
        .heartbeat:       [stale,            to(.running),    to(.running),    to(.running),    to(.cancelling),  to(.running),    stale,     stale,             stale,     stale],
        .complete:        [stale,            to(.completed),  to(.completed),  to(.completed),  to(.completed),   to(.completed),  stale,     stale,             stale,     stale],
        .fail:            [stale,            to(.queued),     to(.queued),     to(.queued),     to(.failed),      to(.queued),     stale,     stale,             stale,     stale],
        .failLastAttempt: [stale,            to(.failed),     to(.failed),     to(.failed),     to(.failed),      to(.failed),     stale,     stale,             stale,     stale],
        .cancel:          [to(.cancelled),   to(.cancelling), to(.cancelling), to(.cancelling), to(.cancelling),  commit,          wrong,     wrong,             wrong,     wrong],
        .cancelForce:     [to(.cancelled),   to(.cancelled),  to(.cancelled),  to(.cancelled),  to(.cancelled),   to(.cancelled),  wrong,     wrong,             wrong,     wrong],
        .acknowledge:     [stale,            wrong,           wrong,           wrong,           to(.cancelled),   wrong,           stale,     stale,             stale,     stale],
        .release:         [stale,            to(.queued),     to(.queued),     to(.queued),     wrong,            to(.queued),     stale,     stale,             stale,     stale],
        .dismiss:         [wrong,            wrong,           wrong,           wrong,           wrong,            wrong,           wrong,     to(.dismissed),    wrong,     wrong],
        .delete:          [wrong,            wrong,           wrong,           wrong,           wrong,            wrong,           gone,      gone,              gone,      gone],
    ]

    static func expected(_ start: Start, _ call: Call) -> Outcome {
        table[call]![Start.allCases.firstIndex(of: start)!]
    }

    @Test func theTableCoversEveryCallAndStart() {
        #expect(Set(Self.table.keys) == Set(Call.allCases))
        #expect(Self.table.values.allSatisfy { $0.count == Start.allCases.count })
    }

    static let cases: [(Start, Call)] = Start.allCases.flatMap { start in Call.allCases.map { (start, $0) } }

    @Test(arguments: cases)
    func transition(_ start: Start, _ call: Call) async throws {
        let clock = PinnedClock()
        try await withStore(clock: clock, configure: { $0.leaseDuration = .seconds(10) }) { store in
            let retries = call == .fail ? 3 : 1
            let created = try await store.create(NewTask(commandType: "table", maxAttempts: retries))
            let id = created.id
            var token = "never-claimed"
            if start != .queued {
                token = try #require(try await store.claim(workerId: "w", commandTypes: ["table"])).leaseToken
            }
            switch start {
            case .queued, .starting: break
            case .running: _ = try await store.heartbeat(id, Heartbeat(leaseToken: token))
            case .impacted:
                clock.advance(by: .seconds(11))
                #expect(try await store.reapLeases().impacted == 1)
            case .cancelling:
                _ = try await store.heartbeat(id, Heartbeat(leaseToken: token))
                _ = try await store.cancel(id)
            case .commitPhase: _ = try await store.heartbeat(id, Heartbeat(leaseToken: token, cancellable: false))
            case .completed: _ = try await store.complete(id, leaseToken: token)
            case .failed: _ = try await store.fail(id, leaseToken: token, errorCode: "boom", errorMessage: "it broke", retryable: false)
            case .cancelled: _ = try await store.cancel(id, force: true)
            case .dismissed:
                _ = try await store.fail(id, leaseToken: token, errorCode: "boom", errorMessage: "it broke", retryable: false)
                try await store.dismiss(id)
            }
            let before = try #require(try await store.get(id))
            let digestBefore = try await keyspaceDigest(store)
            let expected = Self.expected(start, call)
            do {
                switch call {
                case .claim: _ = try await store.claim(workerId: "w2", commandTypes: ["table"])
                case .heartbeat: _ = try await store.heartbeat(id, Heartbeat(leaseToken: token, progress: 50))
                case .complete: _ = try await store.complete(id, leaseToken: token)
                case .fail, .failLastAttempt: _ = try await store.fail(id, leaseToken: token, errorCode: "e", errorMessage: nil)
                case .cancel: _ = try await store.cancel(id)
                case .cancelForce: _ = try await store.cancel(id, force: true)
                case .acknowledge: try await store.acknowledgeCancel(id, leaseToken: token)
                case .release: try await store.release(id, leaseToken: token)
                case .dismiss: try await store.dismiss(id)
                case .delete: try await store.delete(id)
                }
            } catch let error as TaskEngineError {
                #expect(expected == .refused(error.code), "\(start) \(call): refused with \(error.code)")
                #expect(try await keyspaceDigest(store) == digestBefore, "\(start) \(call): a refusal wrote something")
                return
            }
            let after = try await store.get(id)
            switch expected {
            case .status(let status):
                #expect(after?.status == status, "\(start) \(call)")
                if call == .release {
                    #expect(after?.attempt == before.attempt - 1, "\(start) release: no attempt spent")
                }
                if status != before.status || call == .heartbeat {
                    #expect(after.map { $0.version > before.version } == true, "\(start) \(call): version moves")
                }
            case .deleted:
                #expect(after == nil)
            case .noTask:
                #expect(after == before, "\(start) \(call): a claim that found nothing changed the task")
            case .refused(let code):
                Issue.record("\(start) \(call): expected a refusal (\(code)), but it went through to \(after?.status.rawValue ?? "gone")")
            }
        }
    }
}
