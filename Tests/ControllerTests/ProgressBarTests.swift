import Foundation
import Shared
import Testing
@testable import Controller

@Suite struct ProgressBarTests {
    private let start = Date(timeIntervalSince1970: 1_000_000)

    @Test func aBarShowsPercentBytesFilesAndRate() {
        var bar = ProgressBar(phase: "snapshot", started: start)
        bar.update(.init(phase: .snapshot, done: 500, total: 1000, unit: "files"))
        bar.update(.init(phase: .snapshot, done: 50 * 1_048_576, total: 100 * 1_048_576, unit: "bytes"))
        let line = bar.line(now: start.addingTimeInterval(2), width: 10)
        #expect(line == "    snapshot   [#####·····]  50%  50.0 MiB / 100.0 MiB  500/1000 files  25.0 MiB/s")
        #expect(bar.plainLine(now: start.addingTimeInterval(2))
            == "    snapshot: 50%, 50.0 MiB / 100.0 MiB, 500/1000 files, 25.0 MiB/s")
    }

    @Test func withoutTotalsThereIsNoBarAndAHeartbeatSaysHowLong() {
        var bar = ProgressBar(phase: "restart", started: start)
        bar.update(.init(phase: .restart, done: 15, total: nil, unit: "seconds"))
        #expect(bar.fraction == nil)
        #expect(bar.line(now: start) == "    restart    still working after 15s")
    }

    @Test func theFractionNeverLeavesZeroToOne() {
        var bar = ProgressBar(phase: "verify", started: start)
        bar.update(.init(phase: .verify, done: 12, total: 10, unit: "files"))
        #expect(bar.fraction == 1)
        bar.update(.init(phase: .verify, done: 0, total: 0, unit: "bytes"))
        #expect(bar.fraction == 1, "a zero byte total falls back to files")
    }
}
