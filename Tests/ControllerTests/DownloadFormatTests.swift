import Shared
import Testing
@testable import Controller

/// Which format `download` asks for: `--format`, else the -o file's extension, else zstd; a flag that
/// contradicts the extension is a usage error, not a silently mislabelled file.
@Suite struct DownloadFormatTests {
    @Test func theExtensionDecidesWhenThereIsNoFlagAndZstdOtherwise() throws {
        #expect(try DownloadCommand.archiveFormat(flag: nil, output: "backup.tar.zst") == .tarZstd)
        #expect(try DownloadCommand.archiveFormat(flag: nil, output: "b/backup.TZST") == .tarZstd)
        #expect(try DownloadCommand.archiveFormat(flag: nil, output: "backup.tar.gz") == .tarGzip)
        #expect(try DownloadCommand.archiveFormat(flag: nil, output: "backup.tgz") == .tarGzip)
        #expect(try DownloadCommand.archiveFormat(flag: nil, output: "backup") == .tarZstd)
        #expect(try DownloadCommand.archiveFormat(flag: nil, output: "backup.tar") == .tarZstd)
    }

    @Test func theFlagDecidesWhereTheNameSaysNothingAndMustAgreeWhereItDoes() throws {
        #expect(try DownloadCommand.archiveFormat(flag: .gz, output: "backup") == .tarGzip)
        #expect(try DownloadCommand.archiveFormat(flag: .zst, output: "backup.tar.zst") == .tarZstd)
        #expect(try DownloadCommand.archiveFormat(flag: .gz, output: "backup.tgz") == .tarGzip)
        let error = #expect(throws: ControllerError.self) {
            try DownloadCommand.archiveFormat(flag: .gz, output: "backup.tar.zst")
        }
        #expect(error?.kind == .usage && error?.exitCode == 64)
        let message = error?.message ?? ""
        #expect(message.contains("--format gz does not match -o backup.tar.zst"), "\(message)")
    }
}
