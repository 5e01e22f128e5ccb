import Foundation
import ShipkeepSandbox

/// Wording shared by the hostile-input rows of docs/RELIABILITY.md, built from what a test observed.
enum HostileOutcome {
    /// "exit 2" when every run ended so, else every status seen ("exits 0, 2"), so a change shows in the doc.
    static func exits(_ statuses: [Int32]) -> String {
        let distinct = Set(statuses).sorted()
        return (distinct.count == 1 ? "exit " : "exits ") + distinct.map(String.init).joined(separator: ", ")
    }

    /// The error codes seen, sorted and distinct ("none" when a run had none).
    static func codes(_ codes: [String?]) -> String {
        Set(codes.map { $0 ?? "none" }).sorted().joined(separator: "/")
    }

    /// The peak RSS against its bound: the bound when under it (the figure itself varies from run to run and
    /// would make the doc drift), the figure when over it (the test fails then too).
    static func rss(_ peakKiB: Int, limitKiB: Int) -> String {
        let limit = "\(limitKiB / 1024) MiB"
        return peakKiB < limitKiB ? "peak RSS < \(limit)" : "peak RSS \(peakKiB) KiB, over \(limit)"
    }

    /// "no command ran" unless the marker file a hostile value would create exists.
    static func ran(_ marker: String) -> String {
        FileManager.default.fileExists(atPath: marker) ? "a command ran (marker created)" : "no command ran"
    }
}
