import Foundation

/// A directory under the system temp dir, removed when the test is done with it.
public final class TemporaryDirectory {
    /// The directory's absolute path.
    public let path: String

    /// Creates a fresh, empty directory.
    /// - Throws: when it cannot be created.
    public init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("shipkeep-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `content` to `relative` inside the directory, creating the directories on the way.
    /// - Throws: when a directory or the file cannot be written.
    public func write(_ relative: String, _ content: String) throws {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try content.write(toFile: full, atomically: false, encoding: .utf8)
    }
}
