import ArgumentParser
import Foundation
import ShipkeepSandbox

/// `shipkeep-sandbox reliability`: checks docs/RELIABILITY.md against the rows the last test run recorded
/// (`make test` does, after `swift test`), or rewrites it from them (`make reliability`).
struct Reliability: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check docs/RELIABILITY.md's tables against the test run's records, or rewrite them (--write)."
    )

    @Option(help: ArgumentHelp("The records the tests wrote. [env: SHIPKEEP_RELIABILITY_DIR]", valueName: "dir"))
    var records: String?

    @Option(help: ArgumentHelp("The doc.", valueName: "file"))
    var doc = "docs/RELIABILITY.md"

    @Flag(help: "Rewrite the doc's tables instead of checking them.")
    var write = false

    func run() throws {
        let directory = records ?? ProcessInfo.processInfo.environment["SHIPKEEP_RELIABILITY_DIR"]
            ?? ".build/reliability"
        do {
            guard let current = try? String(contentsOfFile: doc, encoding: .utf8) else {
                throw ReliabilityDoc.Failure(description: "cannot read \(doc)")
            }
            let expected = try ReliabilityDoc(records: directory).render(into: current)
            if write {
                try expected.write(toFile: doc, atomically: true, encoding: .utf8)
                print("\(doc) rewritten from \(directory)")
            } else if expected != current {
                let fresh = NSTemporaryDirectory() + "RELIABILITY-\(UUID().uuidString).md"
                try expected.write(toFile: fresh, atomically: true, encoding: .utf8)
                defer { try? FileManager.default.removeItem(atPath: fresh) }
                let diff = try runProcess(["diff", "-u", "--label", doc, "--label", "test run", doc, fresh])
                print(diff.stdout)
                throw ReliabilityDoc.Failure(description: "\(doc) does not match what the tests observed (diff "
                    + "above); run `make reliability` and commit the result, or fix what changed")
            } else {
                print("\(doc) matches the test run (\(directory))")
            }
        } catch let failure as ReliabilityDoc.Failure {
            FileHandle.standardError.write(Data("shipkeep-sandbox: \(failure.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}
