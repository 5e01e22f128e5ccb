import Foundation
import Shared
import SnapshotArchive
#if canImport(Glibc)
import Glibc
#endif

/// Restores files from a snapshot into the data dirs — and nowhere else.
///
/// Paths are relative to the work tree and must lie inside a data dir: `..`, absolute paths and paths that
/// cross a symbolic link are refused (a link planted in a data dir must not turn a restore into a write
/// outside it). A file that is missing is restored; one that differs from the snapshot is kept unless
/// `force`, and even then its current content is first preserved next to it.
struct Restorer {
    struct Outcome {
        var restored: [String] = []
        var kept: [String] = []
        var unchanged = 0
    }

    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    let app: AppConfig
    let store: SnapshotStore
    let manifest: Manifest

    /// Restores `paths` (every data dir when nil).
    ///
    /// - Throws: ``Refusal`` for a path outside the data dirs or through a symbolic link, before anything is
    ///   written; ``FileSystemError`` when writing fails.
    func run(paths: [String]?, force: Bool, warn: (String) -> Void) throws -> Outcome {
        let wanted = try (paths ?? app.data).map(validate)
        let entries = withoutDatabaseCompanions(manifest.entries.filter { entry in
            wanted.contains { entry.path == $0 || entry.path.hasPrefix($0 + "/") }
        })
        guard !entries.isEmpty else {
            throw Refusal(description: "snapshot \(manifest.info.id) holds nothing under \(wanted.joined(separator: ", "))")
        }
        for entry in entries { try checkNoSymlinkOnTheWay(entry.path, includingLast: entry.kind != .symlink) }
        try refuseDatabasesInUse(entries, force: force)
        var outcome = Outcome()
        for entry in entries {
            let live = app.path + "/" + entry.path
            switch entry.kind {
            case .directory:
                if try FileSystem.lstatIfExists(live) == nil { try FileSystem.makeDirectories(live, mode: 0o755) }
            case .symlink:
                if try FileSystem.lstatIfExists(live) == nil, let target = entry.target { symlink(target, live) }
            case .file where entry.dataKind == .sqlite:
                try restoreDatabase(entry, live: live, force: force, outcome: &outcome, warn: warn)
            case .file:
                try restoreFile(entry, live: live, force: force, outcome: &outcome, warn: warn)
            }
        }
        return outcome
    }

    private func restoreFile(_ entry: Manifest.Entry, live: String, force: Bool, outcome: inout Outcome,
                             warn: (String) -> Void) throws {
        if let info = try FileSystem.lstatIfExists(live) {
            if Int64(info.st_size) == entry.size, sameContent(live, entry) {
                outcome.unchanged += 1
                return
            }
            guard force else {
                outcome.kept.append(entry.path)
                warn("\(entry.path) differs from the snapshot and was kept (use --force to overwrite it)")
                return
            }
            let preserved = live + ".shipkeep-before-restore-\(manifest.info.id)"
            let input = try FileSystem.open(live, O_RDONLY | O_NOFOLLOW)
            defer { close(input) }
            try FileSystem.preserve(input, length: Int64(info.st_size), to: preserved)
            warn("\(entry.path) was overwritten from the snapshot; its previous content is in "
                + (preserved as NSString).lastPathComponent)
        }
        let temp = try store.stage(entry, of: manifest.info.id, besides: live)
        guard rename(temp, live) == 0 else {
            let failure = FileSystemError("rename", live)
            unlink(temp)
            throw failure
        }
        FileSystem.syncDirectory(of: live)
        outcome.restored.append(entry.path)
    }

    func sameContent(_ live: String, _ entry: Manifest.Entry) -> Bool {
        guard let fd = try? FileSystem.open(live, O_RDONLY | O_NOFOLLOW) else { return false }
        defer { close(fd) }
        return ContentHash.ofPrefix(fd: fd, length: entry.size ?? 0) == entry.hash
    }

    /// Normalizes a requested path and checks that it lies inside a data dir.
    private func validate(_ path: String) throws -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !path.hasPrefix("/"), !parts.isEmpty, !parts.contains("..") else {
            throw Refusal(description: "refusing to restore \"\(path)\": give a path relative to the work tree, "
                + "without \"..\"")
        }
        let normalized = parts.joined(separator: "/")
        guard app.data.contains(where: { normalized == $0 || normalized.hasPrefix($0 + "/") }) else {
            throw Refusal(description: "refusing to restore \"\(path)\": it is not inside a data dir "
                + "(\(app.data.joined(separator: ", ")))")
        }
        return normalized
    }

    /// Refuses a path any of whose existing components (below the work tree) is a symbolic link.
    private func checkNoSymlinkOnTheWay(_ relative: String, includingLast: Bool) throws {
        if let link = try FileSystem.symlinkOnTheWay(root: app.path, relative: relative, includingLast: includingLast) {
            throw Refusal(description: "refusing to restore \(relative): \(link) is a symbolic link")
        }
    }
}
