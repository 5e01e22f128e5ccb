import Foundation
import Shared
import ShipkeepSandbox
import Testing
@testable import Agent

// A hang guard, not a speed bound: in a full run on 2 cores these wait behind end-to-end tests that hold the
// test runner's threads, and the time limit counts that wait (a 1-minute limit once ran out so, at 81 s).
@Suite(.timeLimit(.minutes(10))) struct JournalFollowerTests {
    /// The follower hands on each event as the worker writes it, in order, and stops at the result. Each
    /// event is written only after the follower forwarded the one before, so none can be read in a batch.
    @Test func relaysEachEventAsItIsWrittenAndStopsAtTheResult() throws {
        let tmp = try TemporaryDirectory()
        let state = StateDirectory(path: tmp.path + "/state")
        try FileSystem.makeDirectories(state.deploysDir)
        let phases = ["preflight", "snapshot", "update", "verify", "restart", "health"]
        let forwarded = DispatchSemaphore(value: 0)
        let writer = Thread {
            guard let journal = try? Journal(state: state, deploy: "d-1") else { return }
            for name in phases {
                journal.append(.phase(.init(name: DeployPhase(rawValue: name), state: .completed)), id: "1")
                forwarded.wait()
            }
            journal.append(.result(.init(ok: true)), id: "1")
        }
        writer.start()
        var seen: [String] = []
        let result = JournalFollower(path: state.journal("d-1")).follow(isRunning: { true }) { message in
            if case .phase(let phase) = message.event {
                seen.append(phase.name.rawValue)
                forwarded.signal()
            }
        }
        #expect(seen == phases)
        #expect(result.map { if case .result(let result) = $0.event { result.ok } else { false } } == true)
    }

    /// A writer that stopped without a result (a killed worker) ends the follow with nil once everything it
    /// wrote has been relayed, so the caller recovers the app.
    @Test func aWriterGoneWithoutAResultEndsTheFollowAfterItsLastEvent() throws {
        let tmp = try TemporaryDirectory()
        let journal = try Journal(state: StateDirectory(path: tmp.path + "/state"), deploy: "d-2")
        journal.append(.phase(.init(name: .preflight, state: .started)), id: "1")
        journal.append(.phase(.init(name: .preflight, state: .completed)), id: "1")
        var seqs: [Int] = []
        let result = JournalFollower(path: journal.path, fromSeq: 2).follow(isRunning: { false }) {
            seqs.append($0.seq)
        }
        #expect(result == nil)
        #expect(seqs == [2])
    }

    /// A replay from any seq hands on every event from there, once; from past the result, the result alone.
    @Test func aReplayFromAnySeqGetsEveryLaterEventOnceAndPastTheEndTheResult() throws {
        let tmp = try TemporaryDirectory()
        let journal = try Journal(state: StateDirectory(path: tmp.path + "/state"), deploy: "d-3")
        journal.append(.phase(.init(name: .preflight, state: .started)), id: "d-3")
        journal.append(.progress(.init(phase: .preflight, done: 5, total: nil, unit: "seconds")), id: "d-3")
        journal.append(.phase(.init(name: .preflight, state: .completed)), id: "d-3")
        journal.append(.result(.success), id: "d-3")
        for from in 1...6 {
            var seqs: [Int] = []
            let result = JournalFollower(path: journal.path, fromSeq: from).follow(isRunning: { false }) {
                seqs.append($0.seq)
            }
            #expect(seqs == (from > 4 ? [4] : Array(from...4)), "from \(from)")
            #expect(result?.seq == 4)
        }
    }

    /// A waiter on a directory wakes when a file in it is written, instead of sleeping out its timeout (the
    /// timeout here is far longer than the test's time limit, so a watch that never woke would fail it).
    @Test func aDirectoryWatchWakesOnAWriteInTheDirectory() throws {
        let tmp = try TemporaryDirectory()
        let watch = DirectoryWatch(directory: tmp.path)
        let path = tmp.path + "/journal.jsonl"
        let writer = Thread { try? "event\n".write(toFile: path, atomically: false, encoding: .utf8) }
        let started = Date()
        writer.start()
        watch.wait(timeout: 120)
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(FileManager.default.fileExists(atPath: path))
    }

    /// A write made before `wait` is called is not slept through: the next `wait` returns at once.
    @Test func aWriteBeforeTheWaitIsNotMissed() throws {
        let tmp = try TemporaryDirectory()
        let watch = DirectoryWatch(directory: tmp.path)
        try tmp.write("journal.jsonl", "event\n")
        let started = Date()
        watch.wait(timeout: 120)
        #expect(Date().timeIntervalSince(started) < 60)
    }
}
