import Foundation
import Shared
import Platform

/// Progress of a download on stderr: a line redrawn in place on a terminal, else a plain line every ten
/// seconds (a CI log), so a long download visibly moves without flooding the log.
struct DownloadProgress {
    private let interactive = isatty(2) == 1
    /// In a log, the first line comes after ten seconds: a short download needs none.
    private var lastShown = Date()
    private var drawn = false

    /// Shows `archived` content bytes of `total`, and `received` compressed bytes.
    mutating func update(archived: Int64, total: Int64, received: Int64) {
        let now = Date()
        guard now.timeIntervalSince(lastShown) >= (interactive ? 0.1 : 10) else { return }
        lastShown = now
        let percent = total > 0 ? "\(Int(Double(archived) * 100 / Double(total)))% " : ""
        let text = "  download \(percent)\(ByteCount.format(archived)) / \(ByteCount.format(total)), "
            + "\(ByteCount.format(received)) received"
        if interactive {
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(text)".utf8))
            drawn = true
        } else {
            Terminal.error(text)
        }
    }

    /// Clears a line drawn in place.
    mutating func clear() {
        guard drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
        drawn = false
    }
}
