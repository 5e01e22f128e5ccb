import Foundation

/// One row of docs/RELIABILITY.md, written by the test that observed it.
///
/// Each fault, hostile-input or least-privilege test writes its row as a JSON file into the records directory
/// once it has measured the outcome; `shipkeep-sandbox reliability` (run by `make test`) compares the doc's
/// tables with these files and fails with a diff when they differ, so the doc cannot drift from what the tests
/// do. Every field is an observation of the run (or a fixed description of the injection), never a timing.
/// It lives in this library so that every test target (end-to-end and unit) and the checker share one format.
public struct ReliabilityRecord: Codable, Sendable {
    /// The doc's table the row belongs in: `faults`, `hostile-input`, …
    public var section: String
    /// Orders the rows within a section ("03b").
    public var id: String
    /// What happens (to the deploy, or what is sent).
    public var scenario: String
    /// How the test makes it happen.
    public var injection: String
    /// What the test observed at the end: outcome, code, lock, exit status.
    public var outcome: String
    /// Bot lines lost or duplicated, as counted by the test (0 where the test runs no bot).
    public var linesLost: Int
    /// The test, as `Suite/function(argument)`.
    public var test: String

    /// A row; see the properties.
    public init(section: String, id: String, scenario: String, injection: String, outcome: String,
                linesLost: Int, test: String) {
        self.section = section
        self.id = id
        self.scenario = scenario
        self.injection = injection
        self.outcome = outcome
        self.linesLost = linesLost
        self.test = test
    }

    /// A row of the `hostile-input` section. Those tests start no bot before they inject, so their lines-lost
    /// figure is 0 by construction (the doc's text says so).
    public static func hostileInput(id: String, scenario: String, injection: String, outcome: String,
                                    test: String) -> ReliabilityRecord {
        ReliabilityRecord(section: "hostile-input", id: id, scenario: scenario, injection: injection,
                          outcome: outcome, linesLost: 0, test: test)
    }

    /// Where records go: `$SHIPKEEP_RELIABILITY_DIR`, else `.build/reliability` in the package.
    public static var directory: String {
        if let dir = ProcessInfo.processInfo.environment["SHIPKEEP_RELIABILITY_DIR"], !dir.isEmpty { return dir }
        // This file is Sources/ShipkeepSandbox/ReliabilityRecord.swift in the package.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/.build/reliability"
    }

    /// Writes the record as `<section>-<id>.json` in ``directory``.
    ///
    /// - Throws: the error of creating the directory or writing the file.
    public func write() throws {
        try FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: Self.directory + "/\(section)-\(id).json"))
    }
}
