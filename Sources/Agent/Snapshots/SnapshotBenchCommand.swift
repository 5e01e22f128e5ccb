import Platform
import Shared

/// `shipkeep-agent snapshot-bench`: the snapshot step of a deploy alone, timed, for `make bench` (hidden).
///
/// A deploy's phase events are timed where they arrive, at the controller, after the journal relay and the
/// SSH channel; the snapshot row of the bench times the step on the VM, as `cp -a` and rsync are. This runs
/// exactly what a deploy runs
/// for its snapshot (the stat walk of the data dirs, then ``SnapshotStore/create``) into a snapshot dir of
/// the caller's choosing, and prints one JSON line with the times measured in-process.
struct SnapshotBenchCommand: AgentCommand {
    static let spec = CommandSpec(
        name: "snapshot-bench",
        abstract: "Time one snapshot of data dirs into a snapshot dir (for `make bench`; not for deploys).",
        hidden: true,
        options: [
            .option("root", valueName: "dir", help: "The work tree the data dirs are in."),
            .repeated("data", valueName: "dir", help: "A data dir, relative to --root (repeat for several)."),
            .option("snapshots", valueName: "dir",
                    help: "The snapshot dir (the previous snapshot in it is linked against)."),
        ]
    )

    /// What one timed snapshot did.
    struct Measurement: Encodable {
        /// Seconds for the stat walk of the data dirs (in a deploy: the end of preflight).
        var scanSeconds: Double
        /// Seconds for copying or linking, hashing, writing the manifest and renaming it into place.
        var snapshotSeconds: Double
        /// The snapshot taken.
        var snapshot: SnapshotInfo
    }

    var root: String
    /// At least one: the spec makes `--data` required.
    var data: [String]
    var snapshots: String

    init(_ options: ParsedOptions) {
        root = options.value("root")
        data = options.values("data")
        snapshots = options.value("snapshots")
    }

    /// Takes the snapshot and times its two steps.
    ///
    /// - Throws: ``FileSystemError`` when the walk fails, ``SnapshotError`` when the snapshot does.
    static func measure(root: String, data: [String], snapshots: String) throws -> Measurement {
        let start = ContinuousClock.now
        let scan = try DataScan.walk(root: root, dataDirs: data)
        let scanned = ContinuousClock.now
        let manifest = try SnapshotStore(dir: snapshots).create(root: root, dataDirs: data, scan: scan,
                                                                 deploy: "snapshot-bench", commit: nil) { _, _ in }
        let done = ContinuousClock.now
        return Measurement(scanSeconds: seconds(start, scanned), snapshotSeconds: seconds(scanned, done),
                           snapshot: manifest.info)
    }

    private static func seconds(_ from: ContinuousClock.Instant, _ to: ContinuousClock.Instant) -> Double {
        let elapsed = (to - from).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    }

    func run() throws {
        do {
            let measurement = try Self.measure(root: root, data: data, snapshots: snapshots)
            print(String(decoding: try JSONEncoding.encode(measurement, escapingSlashes: true), as: UTF8.self))
        } catch {
            StandardStreams.diagnose("snapshot-bench: \(error)")
            throw ExitCode(1)
        }
    }
}
