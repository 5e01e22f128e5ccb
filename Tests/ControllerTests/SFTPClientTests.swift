import CLibSSH2
import Foundation
import ShipkeepSandbox
import Testing

@testable import Controller

/// `SFTPClient` against a real sshd (`Subsystem sftp internal-sftp`), files checked on the local disk.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SFTPClientTests {
    /// A started sshd with an unrestricted key, an SFTP client on it, and a fresh directory for the files.
    private final class Fixture {
        let server: TestServer
        let connection: SSHConnection
        let sftp: SFTPClient
        let directory: String

        init(readTimeout: Double = 30) throws {
            server = try TestServer()
            connection = try server.connect(readTimeout: readTimeout)
            sftp = try connection.sftp()
            directory = server.directory + "/remote"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }

        /// The names in `directory` (or `path`), sorted.
        func names(in path: String? = nil) throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: path ?? directory).sorted()
        }
    }

    /// Bytes that do not repeat or compress (xorshift64*, filled a word at a time: fast in debug builds too).
    private func randomBytes(_ count: Int) -> [UInt8] {
        var state = UInt64.random(in: 1...UInt64.max)
        var bytes = [UInt8](repeating: 0, count: (count + 7) / 8 * 8)
        bytes.withUnsafeMutableBytes { raw in
            for index in 0..<(raw.count / 8) {
                state ^= state >> 12
                state ^= state << 25
                state ^= state >> 27
                raw.storeBytes(of: state &* 0x2545F4914F6CDD1D, toByteOffset: index * 8, as: UInt64.self)
            }
        }
        return Array(bytes.prefix(count))
    }

    private func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    private func contents(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    @Test func aMultiMegabyteFileArrivesWithItsBytesAndModeAndNoTemporaryFileIsLeft() throws {
        let fixture = try Fixture()
        let data = randomBytes(5 * 1024 * 1024 + 123)
        let local = fixture.server.directory + "/local.bin"
        try Data(data).write(to: URL(fileURLWithPath: local))
        let target = fixture.directory + "/opt/shipkeep/bin"
        try fixture.sftp.makeDirectories(target, mode: 0o750)
        #expect(try mode(fixture.directory + "/opt") == 0o750)
        #expect(try mode(target) == 0o750)
        var reports: [(Int64, Int64)] = []
        let started = ContinuousClock.now
        try fixture.sftp.upload(localPath: local, to: target + "/shipkeep-agent", mode: 0o755) {
            reports.append(($0, $1))
        }
        let elapsed = seconds(since: started)
        #expect(elapsed < 5, "\(data.count) bytes over loopback took \(elapsed) s")
        #expect(contents(target + "/shipkeep-agent") == data)
        #expect(try mode(target + "/shipkeep-agent") == 0o755)
        #expect(try fixture.names(in: target) == ["shipkeep-agent"])
        #expect(reports.count > 2, "progress is reported as it goes")
        #expect(reports.last.map { $0 == (Int64(data.count), Int64(data.count)) } == true)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.0 <= $1.0 }, "progress never goes back")
        let attributes = try #require(try fixture.sftp.stat(target + "/shipkeep-agent"))
        #expect(attributes.size == UInt64(data.count))
        #expect(attributes.permissions == 0o755)
        #expect(attributes.isRegularFile && !attributes.isDirectory)
        #expect(try fixture.sftp.stat(target)?.isDirectory == true)
    }

    @Test func anOverwriteIsAtomicTheOldFileStaysWholeUntilTheRename() throws {
        let fixture = try Fixture()
        let path = fixture.directory + "/agent.yml"
        let old = Array("apps: {old: true}\n".utf8)
        try Data(old).write(to: URL(fileURLWithPath: path))
        let oldInode = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
        let new = randomBytes(3 * 1024 * 1024)
        var checks = 0
        try fixture.sftp.upload(data: new, to: path, mode: 0o640) { done, total in
            // Between the acknowledged pieces the destination must still be exactly the old file.
            if done < total {
                checks += 1
                #expect(contents(path) == old, "a reader saw a partial file after \(done) of \(total) bytes")
            }
        }
        #expect(checks > 1)
        #expect(contents(path) == new)
        #expect(try mode(path) == 0o640)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int != oldInode,
                "replaced by a rename, not rewritten in place")
        #expect(try fixture.names() == ["agent.yml"])
    }

    @Test func anUploadThatFillsTheDiskLeavesTheOldFileAndNoTemporaryFile() throws {
        let fixture = try Fixture()
        let mountPoint = fixture.directory + "/small"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mounted = try runProcess(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint])
        try #require(mounted.status == 0, "this test needs root to mount a 1 MiB tmpfs: \(mounted.stderr)")
        defer { _ = try? runProcess(["umount", mountPoint]) }
        let path = mountPoint + "/app.bin"
        let old = Array("the old, working version\n".utf8)
        try Data(old).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: SSHError.self) {
            try fixture.sftp.upload(data: randomBytes(3 * 1024 * 1024), to: path, mode: 0o755)
        }
        #expect(error.code == .sftp, "\(error)")
        #expect(error.message.contains("app.bin.shipkeep-upload-"), "names the file being written: \(error.message)")
        #expect(error.message.contains("free space"), "\(error.message)")
        #expect(contents(path) == old)
        #expect(try fixture.names(in: mountPoint) == ["app.bin"])
    }

    @Test func aRenameThatFailsRemovesTheTemporaryFile() throws {
        let fixture = try Fixture()
        let path = fixture.directory + "/occupied"
        try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
        let error = try #require(throws: SSHError.self) {
            try fixture.sftp.upload(data: Array("x".utf8), to: path, mode: 0o644)
        }
        #expect(error.code == .sftp)
        #expect(error.message.contains("renaming"), "\(error.message)")
        #expect(try fixture.names() == ["occupied"])
        #expect(try fixture.names(in: path) == ["inside"])
    }

    @Test func createExclusivelyNeverTouchesAnExistingFile() throws {
        let fixture = try Fixture()
        let path = fixture.directory + "/agent.yml"
        #expect(try fixture.sftp.createExclusively(data: Array("first\n".utf8), to: path, mode: 0o600))
        #expect(contents(path) == Array("first\n".utf8))
        #expect(try mode(path) == 0o600)
        #expect(try !fixture.sftp.createExclusively(data: Array("second\n".utf8), to: path, mode: 0o644))
        #expect(contents(path) == Array("first\n".utf8))
        #expect(try mode(path) == 0o600)
        #expect(try fixture.names() == ["agent.yml"])
    }

    @Test func statOfAMissingPathIsNilAndReadFileReadsSmallFiles() throws {
        let fixture = try Fixture()
        #expect(try fixture.sftp.stat(fixture.directory + "/nothing-here") == nil)
        #expect(try fixture.sftp.stat(fixture.directory + "/no/such/dir") == nil)
        let path = fixture.directory + "/small.txt"
        try "hello\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try fixture.sftp.readFile(path, limit: 100) == Array("hello\n".utf8))
        let error = try #require(throws: SSHError.self) { try fixture.sftp.readFile(path, limit: 3) }
        #expect(error.message.contains("larger than 3 bytes"))
        let missing = try #require(throws: SSHError.self) { try fixture.sftp.readFile(path + ".nope", limit: 3) }
        #expect(missing.code == .sftp && missing.message.contains("no such file"), "\(missing.message)")
    }

    @Test func anUploadIntoAMissingDirectoryFailsClearlyAndCreatesNothing() throws {
        let fixture = try Fixture()
        let error = try #require(throws: SSHError.self) {
            try fixture.sftp.upload(data: Array("x".utf8), to: fixture.directory + "/missing/dir/file", mode: 0o644)
        }
        #expect(error.code == .sftp)
        #expect(error.message.contains(fixture.directory + "/missing/dir/"), "\(error.message)")
        #expect(error.message.contains("no such file or directory"), "\(error.message)")
        #expect(!error.message.contains("\n"))
        #expect(try fixture.names() == [])
    }

    @Test func makeDirectoriesRefusesAFileInTheWayAndRealpathFindsHome() throws {
        let fixture = try Fixture()
        try "x".write(toFile: fixture.directory + "/file", atomically: false, encoding: .utf8)
        let error = try #require(throws: SSHError.self) {
            try fixture.sftp.makeDirectories(fixture.directory + "/file/sub")
        }
        #expect(error.message.contains("is not a directory"), "\(error.message)")
        try fixture.sftp.makeDirectories(fixture.directory + "/a/b")
        try fixture.sftp.makeDirectories(fixture.directory + "/a/b")  // again: already there is fine
        #expect(try fixture.sftp.stat(fixture.directory + "/a/b")?.isDirectory == true)
        let home = String(cString: try #require(getpwuid(geteuid())).pointee.pw_dir)
        #expect(try fixture.sftp.realpath("~") == home)
        #expect(try fixture.sftp.realpath(".") == home)
        #expect(try fixture.sftp.realpath(fixture.directory + "/a/../a/b") == fixture.directory + "/a/b")
    }

    @Test func aKeyRestrictedToAForcedCommandGetsAClearRefusal() throws {
        for forced in ["/bin/cat", "/bin/sleep 600"] {
            let server = try TestServer(forcedCommand: forced)
            let connection = try server.connect(readTimeout: 3)
            let started = ContinuousClock.now
            let error = try #require(throws: SSHError.self) { try connection.sftp() }
            #expect(error.code == .forcedCommand, "\(forced): \(error)")
            #expect(error.message.contains("this key is restricted to a forced command"), "\(error.message)")
            #expect(error.message.contains("install needs an unrestricted login key"))
            #expect(seconds(since: started) < 6, "\(forced) answered in \(seconds(since: started)) s")
        }
    }
}
