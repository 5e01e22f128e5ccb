import Foundation

/// Finds the built `shipkeep` and `shipkeep-agent` binaries for tests, the demo and the benchmarks.
public enum BuildProducts {
    /// The directory holding the built executables: `SHIPKEEP_BIN_DIR` if set, else the directory of the
    /// running executable (the test runner and `shipkeep-sandbox` are built next to them).
    public static var directory: String {
        if let dir = ProcessInfo.processInfo.environment["SHIPKEEP_BIN_DIR"], !dir.isEmpty { return dir }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }

    /// The path of a built executable.
    ///
    /// - Throws: ``SandboxError`` naming the missing file and the command that builds it.
    public static func path(_ name: String) throws -> String {
        let path = directory + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw SandboxError("\(path) is missing: run `swift build` (or `make test`, which builds it) first")
        }
        return path
    }
}
