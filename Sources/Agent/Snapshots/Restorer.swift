import Shared
import SnapshotArchive
import Platform

/// Restores files from a snapshot into the data dirs — and nowhere else.
///
/// Paths are relative to the work tree and must lie inside a data dir: `..`, absolute paths and paths that
/// cross a symbolic link are refused (a link planted in a data dir must not turn a restore into a write
/// outside it), and every write is made through directory descriptors (``DirectoryHandle``), so a link that
/// appears after that check redirects nothing. A file that is missing is restored; one that differs from the
/// snapshot is kept unless `force`, and even then it is first moved aside, whole, to
/// `NAME.shipkeep-before-restore-<snapshot>-<random>`.
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
    /// Called with each entry's path just before it is written (tests change the tree at that instant).
    var beforeWriting: (String) -> Void = { _ in }

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
        let root = try DirectoryHandle.open(app.path)
        var outcome = Outcome()
        for entry in entries {
            beforeWriting(entry.path)
            // Every write goes through descriptors opened from the work tree down without following a link: a
            // directory swapped for one since the check above is met here, and nothing is written through it.
            do {
                let (parent, name) = try root.parent(of: entry.path, creating: 0o755)
                switch entry.kind {
                case .directory:
                    _ = try parent.subdirectory(name, creating: 0o755)
                case .symlink:
                    if try parent.status(name) == nil, let target = entry.target {
                        _ = try parent.makeSymlink(name, target: target)
                    }
                case .file where entry.dataKind == .sqlite:
                    try restoreDatabase(entry, in: parent, name: name, force: force, outcome: &outcome, warn: warn)
                case .file:
                    try restoreFile(entry, in: parent, name: name, force: force, outcome: &outcome, warn: warn)
                }
            } catch let error as FileSystemError where error.isSymbolicLink {
                outcome.kept.append(entry.path)
                warn("\(entry.path) was not restored: \(error.path) became a symbolic link during the restore")
            }
        }
        return outcome
    }

    /// Restores one file into `directory` as `name`, through
    /// ``SnapshotStore/putBack(_:of:in:as:aside:companions:unplaced:fill:)``: a live file that differs is moved
    /// aside whole (renamed, not copied: whatever the app appends to it meanwhile, through a descriptor it holds,
    /// stays in it), and the snapshot's copy is linked into place, which never replaces: if the app created the
    /// file again in between, both are kept and the restore says so.
    private func restoreFile(_ entry: Manifest.Entry, in directory: DirectoryHandle, name: String, force: Bool,
                             outcome: inout Outcome, warn: (String) -> Void) throws {
        let live = try directory.status(name)
        if let live {
            guard (live.st_mode & S_IFMT) == S_IFREG else {
                outcome.kept.append(entry.path)
                warn("\(entry.path) is no longer a regular file; left as it is")
                return
            }
            if Int64(live.st_size) == entry.size, sameContent(directory, name, entry) {
                outcome.unchanged += 1
                return
            }
            guard force else {
                outcome.kept.append(entry.path)
                warn("\(entry.path) differs from the snapshot and was kept (use --force to overwrite it)")
                return
            }
        }
        let id = manifest.info.id
        let putBack = try store.putBack(entry, of: id, in: directory, as: name,
                                        aside: live == nil ? nil : ".shipkeep-before-restore-\(id)",
                                        unplaced: ".shipkeep-from-snapshot-\(id)")
        let previous = putBack.aside.first.map { "; its previous content is in \($0)" } ?? ""
        guard putBack.linked else {
            outcome.kept.append(entry.path)
            warn("\(entry.path) was created again while it was being restored and was kept; the snapshot's copy "
                + "is in \(putBack.unplaced ?? "the snapshot")" + previous)
            return
        }
        if !putBack.aside.isEmpty {
            warn("\(entry.path) was overwritten from the snapshot" + previous
                + " (an app that holds it open writes there until it reopens it)")
        }
        outcome.restored.append(entry.path)
    }

    func sameContent(_ directory: DirectoryHandle, _ name: String, _ entry: Manifest.Entry) -> Bool {
        guard let fd = try? directory.openFile(name, O_RDONLY) else { return false }
        defer { close(fd) }
        return ContentHash.ofPrefix(fd: fd, length: entry.size ?? 0) == entry.hash
    }

    /// Normalizes a requested path and checks that it lies inside a data dir (``DataPath``).
    private func validate(_ path: String) throws -> String {
        do {
            return try DataPath.normalize(path, dataDirs: app.data, verb: "restore")
        } catch {
            throw Refusal(description: error.description)
        }
    }

    /// Refuses a path any of whose existing components (below the work tree) is a symbolic link.
    private func checkNoSymlinkOnTheWay(_ relative: String, includingLast: Bool) throws {
        if let link = try FileSystem.symlinkOnTheWay(root: app.path, relative: relative, includingLast: includingLast) {
            throw Refusal(description: "refusing to restore \(relative): \(link) is a symbolic link")
        }
    }
}
