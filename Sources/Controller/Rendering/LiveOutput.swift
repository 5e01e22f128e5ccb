@preconcurrency import Platform

/// shipkeep's stdout, written as it happens whatever it is connected to. On a terminal the C library flushes
/// each line; into a pipe or a file (a CI log, `tee`) it would keep them until 4 KiB piled up or the process
/// ended — a 7-second deploy arriving all at once at its end, and nothing at all from a controller that was
/// killed. Every writer here takes the stdout lock, so a line is never split by another thread's, and an
/// interruption notice (``Interrupts``) is always the last thing written.
enum LiveOutput {
    /// Makes stdout line-buffered, so that `print` flushes each line too. Called once, before anything is printed.
    static func start() {
        setvbuf(stdout, nil, _IOLBF, 0)
    }

    /// Writes `text` and a newline, flushed.
    static func line(_ text: String) {
        write(Array((text + "\n").utf8))
    }

    /// Writes `text` as it is (a progress line redrawn in place with `\r`), flushed.
    static func write(_ text: String) {
        write(Array(text.utf8))
    }

    /// Writes `bytes` as they are, flushed.
    static func write(_ bytes: [UInt8]) {
        flockfile(stdout)
        defer { funlockfile(stdout) }
        put(bytes, stdout)
    }

    /// The last words of an interrupted process (``Interrupts``): waits for a line being written to finish,
    /// writes `out` on stdout and `err` on stderr, each with a newline and flushed, and returns with stdout still
    /// locked, so that nothing follows; the caller ends the process.
    static func lastWords(stdout out: String?, stderr err: String?) {
        flockfile(stdout)
        fflush(stdout)
        if let out { put(Array((out + "\n").utf8), stdout) }
        if let err { put(Array((err + "\n").utf8), stderr) }
    }

    /// Writes `bytes` on `stream` and flushes it.
    private static func put(_ bytes: [UInt8], _ stream: UnsafeMutablePointer<FILE>) {
        bytes.withUnsafeBufferPointer { buffer in
            _ = fwrite(buffer.baseAddress, 1, buffer.count, stream)
        }
        fflush(stream)
    }
}
