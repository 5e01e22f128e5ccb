import Foundation
import Shared
import ShipkeepSandbox
import Testing
@testable import Agent

/// The worker's journal is the one numbering of a deploy's events: its heartbeats are journal events, beside
/// the worker's own, and a line torn by a killed writer costs nothing to the events after it.
@Suite(.timeLimit(.minutes(10))) struct JournalHeartbeatTests {
    @Test func heartbeatsAreJournaledInTheOneNumberingWhileQuietAndNeverAfterTheResult() throws {
        let tmp = try TemporaryDirectory()
        let journal = try Journal(state: StateDirectory(path: tmp.path + "/state"), deploy: "d-1")
        journal.append(.phase(.init(name: .update, state: .started)), id: "d-1")
        let heartbeat = JournalHeartbeat(journal: journal, id: "d-1", interval: 0.2)
        heartbeat.start()
        let deadline = Date().addingTimeInterval(60)
        while Journal.read(journal.path).count < 4 && Date() < deadline { usleep(20_000) }
        journal.append(.log(.init(stream: "stdout", line: "hook output", source: "hook")), id: "d-1")
        while Journal.read(journal.path).count < 6 && Date() < deadline { usleep(20_000) }
        heartbeat.stop()
        journal.append(.result(.success), id: "d-1")
        let count = Journal.read(journal.path).count
        // A beat due after the result is not written (the thread is stopped, and the journal is closed).
        journal.beatIfQuiet(after: 0, id: "d-1")
        let events = Journal.read(journal.path)
        #expect(events.count == count)
        #expect(events.map(\.seq) == Array(1...events.count), "one numbering: \(events.map(\.seq))")
        let beats = events.compactMap { message -> Event.Progress? in
            if case .progress(let progress) = message.event { progress } else { nil }
        }
        #expect(beats.count >= 4)
        #expect(beats.allSatisfy { $0.phase == .update && $0.unit == "seconds" && $0.total == nil })
        #expect(events.last?.isResult == true)
    }

    @Test func aTornLastLineDoesNotSwallowTheNextEvent() throws {
        let tmp = try TemporaryDirectory()
        let state = StateDirectory(path: tmp.path + "/state")
        let first = try Journal(state: state, deploy: "d-2")
        first.append(.phase(.init(name: .update, state: .started)), id: "d-2")
        // The writer killed in the middle of its next line.
        let handle = try #require(FileHandle(forWritingAtPath: first.path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"v":1,"type":"log","id":"d-2","seq":2,"str"#.utf8))
        try handle.close()
        // Recovery continues the journal: its events are read back, numbered after the last whole one.
        let recovery = try Journal(state: state, deploy: "d-2")
        recovery.append(.warning(.init(code: "recovered", message: "recovered")), id: "d-2")
        recovery.append(.result(.failure(.recovered, "recovered")), id: "d-2")
        let events = Journal.read(first.path)
        #expect(events.map(\.seq) == [1, 2, 3])
        #expect(events.last?.isResult == true)
    }
}
