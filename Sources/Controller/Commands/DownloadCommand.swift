import ArgumentParser
import Foundation
import Shared

/// `shipkeep download`: an off-VM backup of one snapshot, as a verified `.tar.zst` (or `.tar.gz`).
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a snapshot of an app's data dirs as a verified .tar.zst or .tar.gz (an off-VM backup).",
        discussion: """
            The agent streams the snapshot (default: the newest complete one) as a POSIX tar with paths relative \
            to the work tree (logs/bot.log), compressed with zstd (default) or gzip, checking every file against \
            the snapshot's manifest as it reads it: a damaged snapshot fails the download. The controller writes \
            the archive to a temporary file next to FILE and, as the bytes arrive, decompresses them and checks \
            every entry against the manifest (size and XXH64, nothing missing or extra, no absolute or ".." \
            paths, the stream's own checksum); only when all of it has passed is the file synced and renamed to \
            FILE (mode 0600). On any failure (a mismatch, a damaged or cut-short stream) FILE is left as it was \
            and the temporary file is removed. Takes no lock: deploys may run meanwhile.
            Format: --format, else FILE's extension (.tar.zst/.tzst zstd, .tar.gz/.tgz gzip), else zstd. \
            Extract with: tar --zstd -xf FILE (needs the zstd tool), or tar -xzf FILE for gzip. An agent from \
            before zstd is refused a .tar.zst download with a clear error (exit 3): install a new agent, or ask \
            for --format gz, which it still serves.
            Exit status: 0 downloaded and verified; 1 failed (unknown or damaged snapshot, a mismatch, \
            FILE not writable), nothing written; 3 the VM could not be asked; 64 a usage error.
            """
    )

    /// The archive formats the command line names.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case zst, gz

        var archiveFormat: ArchiveFormat { self == .zst ? .tarZstd : .tarGzip }
    }

    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp(
        "The snapshot id (see `shipkeep snapshots`) or latest; default: the newest complete snapshot.",
        valueName: "id"))
    var snapshot: String?

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp(
        "Where to write the archive, e.g. backup.tar.zst; replaced only once the download is verified.",
        valueName: "file"))
    var output: String

    @Option(name: .long, help: ArgumentHelp(
        "zst (zstd, the default: faster and smaller) or gz (gzip, for a tar without zstd); default: what the "
            + "-o file's extension names (.tar.zst, .tar.gz), else zst.",
        valueName: "zst|gz"))
    var format: Format?

    @Flag(name: .long, help: """
        JSON Lines on stdout (archive and progress events); the last line is {"type":"result","ok":…,"download":…}.
        """)
    var json = false

    /// The archive format: `--format` when given (it must agree with a `.tar.gz`/`.tar.zst` extension of
    /// `output`), else the one `output`'s extension names, else zstd.
    ///
    /// - Throws: ``ControllerError`` `.usage` when the flag and the extension disagree.
    static func archiveFormat(flag: Format?, output: String) throws(ControllerError) -> ArchiveFormat {
        let named = ArchiveFormat(fileName: output)
        guard let flag else { return named ?? .tarZstd }
        if let named, named != flag.archiveFormat {
            throw ControllerError(.usage, "--format \(flag.rawValue) does not match -o \(output), which names a "
                + "\(named.fileExtension) file; drop --format, or end the name with "
                + flag.archiveFormat.fileExtension)
        }
        return flag.archiveFormat
    }

    func run() throws {
        try SnapshotDownload(options: target, snapshot: snapshot, output: output, formatFlag: format, json: json).run()
    }
}
