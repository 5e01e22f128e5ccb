import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent

/// `attach` without `--deploy` follows the newest deploy: of two in the same second, the one begun last.
@Suite(.timeLimit(.minutes(10))) struct LatestDeployTests {
    @Test func ofTwoDeploysInOneSecondTheLaterJournalWins() throws {
        let tmp = try TemporaryDirectory()
        let state = StateDirectory(path: tmp.path)
        try FileManager.default.createDirectory(atPath: state.deploysDir, withIntermediateDirectories: true)
        // The random part orders them the other way round.
        let first = "d-20261201T120000Z-ffff", second = "d-20261201T120000Z-0000"
        try "{}\n".write(toFile: state.journal(first), atomically: false, encoding: .utf8)
        let earlier = Date(timeIntervalSinceNow: -5)
        try FileManager.default.setAttributes([.modificationDate: earlier], ofItemAtPath: state.journal(first))
        try "{}\n".write(toFile: state.journal(second), atomically: false, encoding: .utf8)
        #expect(state.latestDeploy() == second)
        // A later second wins whatever the journals' times.
        let later = "d-20261201T120001Z-aaaa"
        try "{}\n".write(toFile: state.journal(later), atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: earlier], ofItemAtPath: state.journal(later))
        #expect(state.latestDeploy() == later)
    }
}
