@testable import TaskAPI
import Testing

/// The in-flight limit's rule (``RequestLimits/nextLimit(after:lag:refused:)``), window by window:
/// the process test (AdmissionControlTests) and the overload scenario of the fault suite show it
/// at work; here is every branch.
struct AdmissionLimitRuleTests {
    let limits = RequestLimits(maxRequestsInFlight: 256, lagTarget: .milliseconds(50))

    @Test func aLaggingPoolShrinksTheLimitByAQuarterDownToFour() {
        var limit = 256
        var seen: [Int] = []
        for _ in 0..<20 {
            limit = limits.nextLimit(after: limit, lag: .milliseconds(80), refused: 0)
            seen.append(limit)
        }
        #expect(seen.prefix(4) == [192, 144, 108, 81])
        #expect(seen.last == 4, "never below 4: \(seen)")
    }

    @Test func refusalsWithALowLagGrowItByAnEighthUpToTheMaximum() {
        #expect(limits.nextLimit(after: 4, lag: .milliseconds(10), refused: 3) == 5)
        #expect(limits.nextLimit(after: 80, lag: .milliseconds(10), refused: 3) == 90)
        #expect(limits.nextLimit(after: 250, lag: .milliseconds(10), refused: 3) == 256)
        var limit = 4
        var windows = 0
        while limit < 256 {
            limit = limits.nextLimit(after: limit, lag: .zero, refused: 1)
            windows += 1
        }
        print("admission rule: from 4 back to 256 in \(windows) windows of 250 ms")
        #expect(windows < 60, "back to the maximum within 15 s of load the pool keeps up with")
    }

    @Test func betweenHalfAndTheTargetOrWithoutRefusalsItStays() {
        #expect(limits.nextLimit(after: 100, lag: .milliseconds(30), refused: 5) == 100, "lag above half the target: no growth")
        #expect(limits.nextLimit(after: 100, lag: .milliseconds(5), refused: 0) == 100, "nobody refused: no growth")
        #expect(limits.nextLimit(after: 100, lag: .milliseconds(50), refused: 0) == 100, "at the target: no shrink")
    }

    @Test func withoutATargetTheLimitIsTheMaximum() {
        let fixed = RequestLimits(maxRequestsInFlight: 64, lagTarget: nil)
        #expect(fixed.nextLimit(after: 10, lag: .seconds(2), refused: 100) == 64)
    }
}
