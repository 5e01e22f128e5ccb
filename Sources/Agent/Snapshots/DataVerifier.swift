import Foundation
import SnapshotArchive
#if canImport(Glibc)
import Glibc
#endif

/// Checks the live data dirs against a snapshot's manifest and repairs what the deploy damaged, without
/// overwriting anything written after the snapshot.
///
/// A file may have grown (bots append) but must still begin with the bytes the manifest records. A file
/// unchanged in size and mtime is taken as intact without reading it, as rsync does; any other file has its
/// recorded prefix hashed. Repairs:
/// - missing file or directory: restored from the snapshot (never replacing a file that appears meanwhile);
/// - shrunk or altered file: the current content is first preserved next to it as
///   `NAME.shipkeep-<deploy>`, then the recorded bytes are written back in place (same inode, so a bot that
///   holds the file open keeps appending to it) and anything beyond them stays where it is.
struct DataVerifier {
    /// One repaired path, for a `warning` event.
    struct Repair: Equatable {
        var path: String
        var message: String
    }

    struct Outcome {
        var checkedFiles = 0
        var hashedBytes: Int64 = 0
        var repairs: [Repair] = []
    }

    let root: String
    let store: SnapshotStore
    let manifest: Manifest
    let deploy: String

    /// Verifies every manifest entry and repairs damage; `progress` gets (files checked, bytes hashed).
    ///
    /// - Throws: ``FileSystemError`` when a repair itself fails (the data is then left as it was found).
    func run(progress: (Int, Int64) -> Void) throws -> Outcome {
        var outcome = Outcome()
        var lastReport = Date()
        var links: Set<String> = []
        for entry in manifest.entries {
            let live = root + "/" + entry.path
            // A directory replaced by a link since the snapshot: writing below it would write wherever it points.
            if let link = try FileSystem.symlinkOnTheWay(root: root, relative: entry.path, includingLast: false) {
                if links.insert(link).inserted {
                    outcome.repairs.append(Repair(path: entry.path, message: "\(link) is now a symbolic link; what the "
                        + "snapshot holds below it was left alone (it is in snapshot \(manifest.info.id))"))
                }
                continue
            }
            switch entry.kind {
            case .directory:
                if try FileSystem.lstatIfExists(live) == nil {
                    try FileSystem.makeDirectories(live, mode: mode_t(entry.mode ?? 0o755))
                    outcome.repairs.append(Repair(path: entry.path, message: "directory \(entry.path) was missing; recreated"))
                }
            case .symlink:
                if try FileSystem.lstatIfExists(live) == nil, let target = entry.target {
                    symlink(target, live)
                    outcome.repairs.append(Repair(path: entry.path, message: "symbolic link \(entry.path) was missing; recreated"))
                }
            case .file:
                if let repair = try check(entry, live: live, hashed: &outcome.hashedBytes) {
                    outcome.repairs.append(repair)
                }
                outcome.checkedFiles += 1
                if Date().timeIntervalSince(lastReport) > 0.2 {
                    progress(outcome.checkedFiles, outcome.hashedBytes)
                    lastReport = Date()
                }
            }
        }
        progress(outcome.checkedFiles, outcome.hashedBytes)
        return outcome
    }

    private func check(_ entry: Manifest.Entry, live: String, hashed: inout Int64) throws -> Repair? {
        let size = entry.size ?? 0
        guard let info = try FileSystem.lstatIfExists(live) else {
            return try restoreMissing(entry, live: live)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            return Repair(path: entry.path, message: "\(entry.path) is no longer a regular file; left as it is "
                + "(the snapshotted copy is in snapshot \(manifest.info.id))")
        }
        if Int64(info.st_size) == size && FileSystem.mtime(info) == entry.mtime { return nil }
        if Int64(info.st_size) >= size {
            let fd = try FileSystem.open(live, O_RDONLY | O_NOFOLLOW)
            defer { close(fd) }
            if ContentHash.ofPrefix(fd: fd, length: size, onBytes: { hashed += Int64($0) }) == entry.hash { return nil }
        }
        return try rewritePrefix(entry, live: live, liveSize: Int64(info.st_size))
    }

    private func restoreMissing(_ entry: Manifest.Entry, live: String) throws -> Repair {
        let temp = try store.stage(entry, of: manifest.info.id, besides: live)
        defer { unlink(temp) }
        // link(2) never replaces: if the app recreated the file meanwhile, its file wins and is checked instead.
        if link(temp, live) != 0 {
            guard errno == EEXIST else { throw FileSystemError("link", live) }
            var ignored: Int64 = 0
            return try check(entry, live: live, hashed: &ignored)
                ?? Repair(path: entry.path, message: "\(entry.path) was missing and has been recreated by the app")
        }
        FileSystem.syncDirectory(of: live)
        return Repair(path: entry.path, message: "\(entry.path) was missing; restored \(entry.size ?? 0) bytes from "
            + "snapshot \(manifest.info.id)")
    }

    private func rewritePrefix(_ entry: Manifest.Entry, live: String, liveSize: Int64) throws -> Repair {
        let size = entry.size ?? 0
        let preserved = live + ".shipkeep-\(deploy)"
        let fd = try FileSystem.open(live, O_RDWR | O_NOFOLLOW)
        defer { close(fd) }
        // Keep what is there now, whole, before touching it: nothing written after the snapshot is lost.
        try FileSystem.preserve(fd, length: liveSize, to: preserved)
        let source = try FileSystem.open(store.filePath(manifest.info.id, entry.path), O_RDONLY)
        defer { close(source) }
        try FileSystem.copy(from: source, to: fd, length: size, path: live)
        fsync(fd)
        let what = liveSize < size ? "had shrunk from \(size) to \(liveSize) bytes" : "had changed within its first \(size) bytes"
        return Repair(path: entry.path, message: "\(entry.path) \(what); restored its \(size) snapshotted bytes "
            + "in place; its content before the repair is kept in \((preserved as NSString).lastPathComponent)")
    }
}
