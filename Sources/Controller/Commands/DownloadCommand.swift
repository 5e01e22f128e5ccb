import ArgumentParser
import Foundation
import Shared

/// `shipkeep download`: an off-VM backup of one snapshot, as a verified `.tar.gz`.
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a snapshot of an app's data dirs as a verified .tar.gz (an off-VM backup).",
        discussion: """
            The agent streams the snapshot (default: the newest complete one) as a gzip-compressed POSIX tar \
            with paths relative to the work tree (logs/bot.log), checking every file against the snapshot's \
            manifest as it reads it: a damaged snapshot fails the download. The controller writes the archive \
            to a temporary file next to FILE, then reads it back and checks every entry against the manifest \
            (size and XXH64, nothing missing or extra, no absolute or ".." paths) before renaming it to FILE \
            (mode 0600). On any failure FILE is left as it was and the temporary file is removed. Takes no lock: \
            deploys may run meanwhile. Extract with: tar -xzf FILE
            Exit status: 0 downloaded and verified; 1 failed (unknown or damaged snapshot, a mismatch, \
            FILE not writable), nothing written; 3 the VM could not be asked; 64 a usage error.
            """
    )

    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp(
        "The snapshot id (see `shipkeep snapshots`) or latest; default: the newest complete snapshot.",
        valueName: "id"))
    var snapshot: String?

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp(
        "Where to write the archive, e.g. backup.tar.gz; replaced only once the download is verified.",
        valueName: "file"))
    var output: String

    @Flag(name: .long, help: """
        JSON Lines on stdout (archive and progress events); the last line is {"type":"result","ok":…,"download":…}.
        """)
    var json = false

    func run() throws {
        try SnapshotDownload(options: target, snapshot: snapshot, output: output, json: json).run()
    }
}
