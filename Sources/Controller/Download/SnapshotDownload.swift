import ArgumentParser
import Foundation
import Shared

/// One `download`: asks the agent for a snapshot, writes the chunks to a partial file, verifies that file
/// against the manifest, and only then gives it the name asked for.
struct SnapshotDownload {
    let options: TargetOptions
    let snapshot: String?
    let output: String
    let json: Bool

    /// What `--json`'s closing line says about a download.
    struct Outcome: Encodable {
        var app: String
        var snapshot: String
        var files: Int
        var bytes: Int64
        var compressedBytes: Int64
        var file: String
    }

    /// What the agent has sent so far.
    private struct Received {
        var archive: Event.Archive?
        var entries: [ArchiveEntry] = []
        var archived: Int64 = 0
    }

    /// Runs the download and exits: 0 verified and in place, 1 failed (nothing written), 3 not asked.
    ///
    /// - Throws: `ExitCode` always.
    func run() throws -> Never {
        var targetName = options.target ?? options.host ?? "?"
        var partial: PartialFile?
        do {
            guard output != "-" else {
                throw ControllerError(.usage, "-o - is not supported: the archive is verified before it is handed "
                    + "over, so give a file name (e.g. -o backup.tar.gz)")
            }
            let resolved = try options.resolve()
            targetName = resolved.display
            let app = try AgentRequest.requireApp(resolved)
            let file = try PartialFile(destination: output)
            partial = file
            let connection = try AgentConnection(resolved, verbose: options.verbose)
            guard connection.session.agent?.capabilities.contains("download") == true else {
                connection.close()
                throw ControllerError(.agent, "the agent on \(resolved.display) (version "
                    + "\(connection.session.agent?.agentVersion ?? "?")) cannot download snapshots; install a "
                    + "shipkeep-agent as new as this shipkeep", code: .unsupported)
            }
            let received: Received
            let result: Event.Result
            do {
                (received, result) = try stream(connection, app: app, into: file)
            } catch {
                // Half a stream is worth nothing: drop the connection rather than drain the rest of it.
                connection.abandon()
                throw error
            }
            connection.close()
            guard result.ok else {
                file.discard()
                finish(ok: false, code: DeployExit.code(for: result), target: resolved.display, error: result.error)
            }
            let outcome = try verify(file, received, app: app)
            GitHubActions.detect()?.writeDownloadSummary(target: resolved.display, snapshot: outcome.snapshot,
                                                         files: outcome.files, bytes: outcome.bytes,
                                                         file: outcome.file, error: nil)
            if json {
                JSONLines.emit(.init(ok: true, exitCode: DeployExit.ok, target: resolved.display, download: outcome))
            } else {
                print(ControlCharacters.escaped("downloaded snapshot \(outcome.snapshot): \(outcome.files) files, "
                    + "\(ByteCount.format(outcome.bytes)) (\(ByteCount.format(outcome.compressedBytes)) compressed) "
                    + "verified → \(outcome.file)"))
            }
            throw ExitCode(DeployExit.ok)
        } catch let error as ControllerError {
            partial?.discard()
            // A local failure is the download's own; any other means the VM could not be asked properly.
            let code = error.kind == .local ? DeployExit.failed : DeployExit.unreachable
            finish(ok: false, code: code, target: targetName,
                   error: WireError(code: error.wireCode, message: error.message))
        }
    }

    /// Sends `download` and writes what comes back.
    private func stream(_ connection: AgentConnection, app: String,
                        into file: PartialFile) throws(ControllerError) -> (Received, Event.Result) {
        var received = Received()
        var progress = DownloadProgress()
        defer { progress.clear() }
        let result = try connection.session.request(.download(.init(app: app, snapshot: snapshot))) {
            message throws(ControllerError) in
            switch message.event {
            case .archive(let archive):
                received.archive = archive
                if !json {
                    Terminal.error("downloading snapshot \(archive.snapshot) of \(archive.app) from "
                        + "\(connection.target.display): \(archive.files) files, \(ByteCount.format(archive.bytes))")
                }
            case .manifest(let part):
                received.entries += part.entries
            case .chunk(let chunk):
                guard received.archive != nil else {
                    throw ControllerError(.protocolError, "the agent sent archive data before saying which snapshot")
                }
                try file.write(chunk.data)
            case .progress(let update):
                received.archived = update.done
            case .warning(let warning):
                if !json { Terminal.error("shipkeep: warning: \(warning.message)") }
            default:
                break
            }
            if json, message.event.type != "chunk", message.event.type != "manifest" { JSONLines.emit(message) }
            if !json, let archive = received.archive {
                progress.update(archived: received.archived, total: archive.bytes, received: file.bytesWritten)
            }
        }
        return (received, result)
    }

    /// Syncs and checks the partial file, then renames it into place.
    private func verify(_ file: PartialFile, _ received: Received, app: String) throws(ControllerError) -> Outcome {
        guard let archive = received.archive, received.entries.count == archive.entries else {
            file.discard()
            throw ControllerError(.protocolError, "the agent's download ended without the whole manifest "
                + "(\(received.entries.count) of \(received.archive?.entries ?? 0) entries); nothing was written")
        }
        try file.sync()
        let summary: ArchiveVerifier.Summary
        do {
            summary = try ArchiveVerifier(manifest: received.entries).verify(path: file.path)
        } catch {
            file.discard()
            throw ControllerError(.local, "the archive of snapshot \(archive.snapshot) does not match its manifest: "
                + "\(error); nothing was written to \(output)")
        }
        guard summary.files == archive.files, summary.bytes == archive.bytes else {
            file.discard()
            throw ControllerError(.local, "the archive of snapshot \(archive.snapshot) holds \(summary.files) files "
                + "(\(summary.bytes) bytes), the snapshot \(archive.files) (\(archive.bytes)); nothing was written")
        }
        let compressed = file.bytesWritten
        try file.commit()
        return Outcome(app: app, snapshot: archive.snapshot, files: summary.files, bytes: summary.bytes,
                       compressedBytes: compressed, file: output)
    }

    /// Reports a failure (one line: on stderr, or as a GitHub Actions annotation and job summary; the `--json`
    /// result) and exits.
    private func finish(ok: Bool, code: Int32, target: String, error: WireError?) -> Never {
        if let error {
            GitHubActions.detect()?.writeDownloadSummary(target: target, snapshot: snapshot, files: nil, bytes: nil,
                                                         file: nil, error: error.message)
            FailureLine.print(error.message, json: json)
        }
        if json { JSONLines.emit(.init(ok: ok, exitCode: code, target: target, error: error)) }
        Shipkeep.exit(withError: ExitCode(code))
    }
}
