import Foundation
import Platform
import Testing
@testable import Agent

/// The agent's own file and host queries, which replaced FileManager and ProcessInfo, against what those answered.
@Suite(.timeLimit(.minutes(5))) struct FileSystemQueryTests {
    /// A fresh directory under the system's temporary directory, removed after `body`.
    func withDirectory(_ body: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "shipkeep-fsq-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    @Test func namesListWhatFileManagerLists() throws {
        try withDirectory { dir in
            for name in ["a", ".hidden", "with space", "é"] {
                #expect(FileManager.default.createFile(atPath: dir + "/" + name, contents: Data("x".utf8)))
            }
            try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: false)
            try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: "sub")
            let own = try FileSystem.names(in: dir).sorted()
            #expect(own == ["a", ".hidden", "with space", "é", "sub", "link"].sorted())
            #expect(own == (try FileManager.default.contentsOfDirectory(atPath: dir)).sorted())
            // A link to a directory is followed, as opendir does; a file or nothing is an error.
            #expect(try FileSystem.names(in: dir + "/link").isEmpty)
            #expect(throws: FileSystemError.self) { try FileSystem.names(in: dir + "/a") }
            #expect(throws: FileSystemError.self) { try FileSystem.names(in: dir + "/absent") }
        }
    }

    @Test func existsFollowsLinksAsFileExistsDid() throws {
        try withDirectory { dir in
            #expect(FileManager.default.createFile(atPath: dir + "/file", contents: nil))
            try FileManager.default.createSymbolicLink(atPath: dir + "/good", withDestinationPath: "file")
            try FileManager.default.createSymbolicLink(atPath: dir + "/dangling", withDestinationPath: "nothing")
            for name in ["file", "good", "dangling", "absent", ""] {
                #expect(FileSystem.exists(dir + "/" + name) == FileManager.default.fileExists(atPath: dir + "/" + name),
                        "\(name)")
            }
            #expect(!FileSystem.exists(dir + "/dangling"))
        }
    }

    @Test func readReadsWholeFilesAndProcFiles() throws {
        try withDirectory { dir in
            let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            #expect(FileManager.default.createFile(atPath: dir + "/big", contents: Data(big)))
            #expect(FileManager.default.createFile(atPath: dir + "/empty", contents: Data()))
            #expect(FileSystem.read(dir + "/big") == big)
            #expect(FileSystem.read(dir + "/empty") == [])
            #expect(FileSystem.read(dir + "/absent") == nil)
            #expect(FileSystem.read(dir) == nil)
            // /proc files report a size of 0 and are read to their end all the same.
            let status = FileSystem.read("/proc/self/status").map { String(decoding: $0, as: UTF8.self) } ?? ""
            #expect(status.contains("VmHWM:"))
            #expect(DeployWorker.peakRSS() ?? 0 > 0)
        }
    }

    @Test func linksTimesAndTheWorkingDirectoryMatchFoundation() throws {
        try withDirectory { dir in
            #expect(FileManager.default.createFile(atPath: dir + "/file", contents: nil))
            try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: "file")
            #expect(FileSystem.symbolicLinkTarget(dir + "/link") == "file")
            #expect(FileSystem.symbolicLinkTarget(dir + "/file") == nil)
            #expect(FileSystem.symbolicLinkTarget("/proc/self/exe")
                    == (try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")))
            // The link's own time, not its target's, as attributesOfItem gave.
            var times = [timespec(tv_sec: 1_700_000_000, tv_nsec: 250_000_000),
                         timespec(tv_sec: 1_700_000_000, tv_nsec: 250_000_000)]
            #expect(utimensat(AT_FDCWD, dir + "/link", &times, AT_SYMLINK_NOFOLLOW) == 0)
            let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/link")
            let foundation = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970
            #expect(FileSystem.modificationSeconds(dir + "/link") == 1_700_000_000.25)
            #expect(abs((FileSystem.modificationSeconds(dir + "/link") ?? 0) - (foundation ?? 0)) < 1e-6)
            #expect(FileSystem.modificationSeconds(dir + "/absent") == nil)
            #expect(FileSystem.currentDirectory() == FileManager.default.currentDirectoryPath)
        }
    }

    @Test func hostNameIsWhatProcessInfoSaid() {
        #expect(HostName.current == ProcessInfo.processInfo.hostName)
        #expect(!HostName.current.isEmpty)
    }
}
