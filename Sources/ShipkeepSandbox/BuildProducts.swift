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

    /// The package's root directory: the parent of the `.build` (or `.build-static`) directory the products are
    /// in, or nil when they are somewhere else.
    public static var packageDirectory: String? {
        var url = URL(fileURLWithPath: directory)
        while url.path != "/" && url.lastPathComponent != ".build" && url.lastPathComponent != ".build-static" {
            url.deleteLastPathComponent()
        }
        return url.path == "/" ? nil : url.deletingLastPathComponent().path
    }

    /// The agent `make static-agent` builds (Swift runtime linked in, for VMs without Swift):
    /// `SHIPKEEP_STATIC_AGENT`, else `.build-static/release/shipkeep-agent` of this package.
    ///
    /// - Throws: ``SandboxError`` naming the command that builds it, when it is missing.
    public static func staticAgent() throws -> String {
        let set = ProcessInfo.processInfo.environment["SHIPKEEP_STATIC_AGENT"] ?? ""
        let path = set.isEmpty ? (packageDirectory ?? ".") + "/.build-static/release/shipkeep-agent" : set
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw SandboxError("\(path) is missing: run `make static-agent` (or set SHIPKEEP_STATIC_AGENT)")
        }
        return path
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
