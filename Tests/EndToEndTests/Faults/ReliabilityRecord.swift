import Foundation

/// One row of docs/RELIABILITY.md, written by the test that observed it.
///
/// Each fault (or hostile-input) test writes its row as a JSON file into the records directory once it has
/// measured the outcome; `shipkeep-sandbox reliability --check` (run by `make test`) compares the doc's tables
/// with these files and fails with a diff when they differ, so the doc cannot drift from what the tests do.
/// Every field is an observation of the run (or a fixed description of the injection), never a timing.
struct ReliabilityRecord: Codable {
    /// The doc's table the row belongs in: `faults`, `hostile-input`, …
    var section: String
    /// Orders the rows within a section ("03b").
    var id: String
    /// What happens to the deploy.
    var scenario: String
    /// How the test makes it happen.
    var injection: String
    /// What the test observed at the end: outcome, code, lock, exit status.
    var outcome: String
    /// Bot lines lost or duplicated, as counted by the test.
    var linesLost: Int
    /// The test, as `Suite/function(argument)`.
    var test: String

    /// Where records go: `$SHIPKEEP_RELIABILITY_DIR`, else `.build/reliability` in the package.
    static var directory: String {
        if let dir = ProcessInfo.processInfo.environment["SHIPKEEP_RELIABILITY_DIR"], !dir.isEmpty { return dir }
        // This file is Tests/EndToEndTests/Faults/ReliabilityRecord.swift in the package.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path + "/.build/reliability"
    }

    /// Writes the record as `<section>-<id>.json` in ``directory``.
    func write() throws {
        try FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: Self.directory + "/\(section)-\(id).json"))
    }
}
