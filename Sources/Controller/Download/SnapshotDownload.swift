import ArgumentParser
import Foundation
import Shared
import SnapshotArchive

/// One `download`: asks the agent for a snapshot, writes the chunks to a partial file while it decompresses and
/// checks them against the manifest, and only once all of it has passed gives the file the name asked for.
struct SnapshotDownload {
    let options: TargetOptions
    let snapshot: String?
    let output: String
    /// `--format`, if given.
    let formatFlag: DownloadCommand.Format?
    let json: Bool

    /// What `--json`'s closing line says about a download.
    struct Outcome: Encodable {
        var app: String
        var snapshot: String
        var files: Int
        var bytes: Int64
        var compressedBytes: Int64
        var file: String
        /// The archive's format (`tar+zstd`, `tar+gzip`).
        var format: String
    }

    /// What the agent has sent so far.
    private struct Received {
        var archive: Event.Archive?
        var entries: [ArchiveEntry] = []
        var archived: Int64 = 0
        /// The check of the archive's bytes, started with the first chunk (the whole manifest has come by then).
        var verification: ArchiveVerifier.Verification?
    }

    /// Runs the download and exits: 0 verified and in place, 1 failed (nothing written), 3 not asked.
    ///
    /// - Throws: `ExitCode` always.
    func run() throws -> Never {
        var targetName = options.target ?? options.host ?? "?"
        var partial: PartialFile?
        do {
            let format = try DownloadCommand.archiveFormat(flag: formatFlag, output: output)
            guard output != "-" else {
                throw ControllerError(.usage, "-o - is not supported: the archive is verified before it is handed "
                    + "over, so give a file name (e.g. -o backup\(format.fileExtension))")
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
            if let capability = format.capability, connection.session.agent?.capabilities.contains(capability) != true {
                connection.close()
                throw ControllerError(.agent, "the agent on \(resolved.display) (version "
                    + "\(connection.session.agent?.agentVersion ?? "?")) cannot send \(format.fileExtension) archives; "
                    + "install a shipkeep-agent as new as this shipkeep, or ask for --format gz "
                    + "(-o FILE.tar.gz)", code: .unsupported)
            }
            let received: Received
            let result: Event.Result
            do {
                (received, result) = try stream(connection, app: app, format: format, into: file)
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
            // A local failure is the download's own (1); a usage error is 64; any other means the VM could not be
            // asked properly (3).
            finish(ok: false, code: error.exitCode, target: targetName,
                   error: WireError(code: error.wireCode, message: error.message))
        }
    }

    /// Sends `download` and writes what comes back.
    private func stream(_ connection: AgentConnection, app: String, format: ArchiveFormat,
                        into file: PartialFile) throws(ControllerError) -> (Received, Event.Result) {
        var received = Received()
        var progress = DownloadProgress()
        defer { progress.clear() }
        // Raw frames from an agent that can send them (a third less on the wire than base64 lines, and nothing to
        // parse); base64 `chunk` events from an older one.
        let framing = DownloadFraming.best(capabilities: connection.session.agent?.capabilities ?? [])
        let request = Command.download(.init(app: app, snapshot: snapshot, format: format.rawValue,
                                             framing: framing == .frames ? framing.rawValue : nil))

        /// Writes the next bytes of the archive to the partial file and checks them.
        func take(_ data: [UInt8]) throws(ControllerError) {
            guard let archive = received.archive else {
                throw ControllerError(.protocolError, "the agent sent archive data before saying which snapshot")
            }
            let verification: ArchiveVerifier.Verification
            if let started = received.verification {
                verification = started
            } else {
                verification = try startVerification(archive, received.entries, format)
                received.verification = verification
            }
            try file.write(data)
            do throws(ArchiveVerifier.Mismatch) {
                try verification.feed(data)
            } catch {
                throw mismatch(archive, error)
            }
        }

        let result = try connection.session.request(request) {
            message throws(ControllerError) in
            switch message.event {
            case .archive(let archive):
                guard archive.format == format.rawValue else {
                    // An agent from before zstd ignores the format asked for and sends what it knows.
                    throw ControllerError(.protocolError, "the agent sent a \(archive.format) archive, not the "
                        + "\(format.rawValue) asked for; install a shipkeep-agent as new as this shipkeep, or ask for "
                        + "--format \(ArchiveFormat(rawValue: archive.format)?.shortName ?? "gz")")
                }
                received.archive = archive
                if !json {
                    Terminal.error("downloading snapshot \(archive.snapshot) of \(archive.app) from "
                        + "\(connection.target.display): \(archive.files) files, \(ByteCount.format(archive.bytes))")
                }
            case .manifest(let part):
                received.entries += part.entries
            case .chunk(let chunk):
                try take(chunk.data)
            case .frame(let frame):
                guard framing == .frames else {
                    throw ControllerError(.protocolError, "the agent sent a binary frame, which this download did "
                        + "not ask for; nothing was written")
                }
                try take(frame.data)
            case .progress(let update):
                received.archived = update.done
            case .warning(let warning):
                if !json { Terminal.error("shipkeep: warning: \(warning.message)") }
            default:
                break
            }
            if json, !["chunk", "frame", "manifest"].contains(message.event.type) { JSONLines.emit(message) }
            if !json, let archive = received.archive {
                progress.update(archived: received.archived, total: archive.bytes, received: file.bytesWritten)
            }
        }
        return (received, result)
    }

    /// Starts checking the archive's bytes, once the whole manifest has come.
    private func startVerification(_ archive: Event.Archive, _ entries: [ArchiveEntry],
                                   _ format: ArchiveFormat) throws(ControllerError) -> ArchiveVerifier.Verification {
        guard entries.count == archive.entries else {
            throw ControllerError(.protocolError, "the agent sent archive data before the whole manifest "
                + "(\(entries.count) of \(archive.entries) entries); nothing was written")
        }
        do throws(ArchiveVerifier.Mismatch) {
            return try ArchiveVerifier(manifest: entries).stream(format.compression)
        } catch {
            throw mismatch(archive, error)
        }
    }

    private func mismatch(_ archive: Event.Archive, _ error: ArchiveVerifier.Mismatch) -> ControllerError {
        ControllerError(.local, "the archive of snapshot \(archive.snapshot) does not match its manifest: "
            + "\(error); nothing was written to \(output)")
    }

    /// Finishes the check of the partial file (checked as it came), syncs it and renames it into place.
    private func verify(_ file: PartialFile, _ received: Received, app: String) throws(ControllerError) -> Outcome {
        guard let archive = received.archive, received.entries.count == archive.entries,
              let verification = received.verification else {
            file.discard()
            throw ControllerError(.protocolError, "the agent's download ended without the whole manifest and archive "
                + "(\(received.entries.count) of \(received.archive?.entries ?? 0) entries); nothing was written")
        }
        let summary: ArchiveVerifier.Summary
        do throws(ArchiveVerifier.Mismatch) {
            summary = try verification.finish()
        } catch {
            file.discard()
            throw mismatch(archive, error)
        }
        guard summary.files == archive.files, summary.bytes == archive.bytes else {
            file.discard()
            throw ControllerError(.local, "the archive of snapshot \(archive.snapshot) holds \(summary.files) files "
                + "(\(summary.bytes) bytes), the snapshot \(archive.files) (\(archive.bytes)); nothing was written")
        }
        try file.sync()
        let compressed = file.bytesWritten
        try file.commit()
        return Outcome(app: app, snapshot: archive.snapshot, files: summary.files, bytes: summary.bytes,
                       compressedBytes: compressed, file: output, format: archive.format)
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
