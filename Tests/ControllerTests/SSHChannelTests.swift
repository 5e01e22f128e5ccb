import Foundation
import ShipkeepSandbox
import Testing

@testable import Controller

/// The exec channel against a real sshd: stdin, stdout and stderr kept apart, exit status and signal,
/// forced commands, large transfers and the dead-peer timeout.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SSHChannelTests {
    @Test func catEchoesStdinBack() throws {
        let server = try TestServer()
        let connection = try server.connect()
        let input = Array("hello\n".utf8) + (0...255).map { UInt8($0) }
        let result = try run(connection, "cat", input: input)
        #expect(result.stdout == input)
        #expect(result.stderr.isEmpty)
        #expect(result.status == 0)
        #expect(result.signal == nil)
    }

    @Test func stderrArrivesSeparately() throws {
        let server = try TestServer()
        let connection = try server.connect()
        let result = try run(connection, "printf to-stdout; printf to-stderr >&2")
        #expect(result.stdoutText == "to-stdout")
        #expect(result.stderrText == "to-stderr")
        #expect(result.status == 0)
    }

    @Test func exitStatusIsReported() throws {
        let server = try TestServer()
        let connection = try server.connect()
        let result = try run(connection, "echo bye; exit 7")
        #expect(result.stdoutText == "bye\n")
        #expect(result.status == 7)
        #expect(result.signal == nil)
    }

    @Test func exitSignalIsReported() throws {
        let server = try TestServer()
        let connection = try server.connect()
        let result = try run(connection, "kill -KILL $$")
        #expect(result.signal == "KILL")
        #expect(result.status == nil)
    }

    @Test func forcedCommandWinsOverTheRequestedOne() throws {
        let server = try TestServer(forcedCommand: "echo forced")
        let connection = try server.connect()
        let result = try run(connection, "echo requested")
        #expect(result.stdoutText == "forced\n")
        #expect(result.status == 0)
    }

    @Test func eightMebibytesRoundTripThroughCat() throws {
        let server = try TestServer()
        let connection = try server.connect()
        // Not a repeating pattern, so a dropped or duplicated chunk cannot go unnoticed.
        var state: UInt32 = 2_463_534_242
        let input = (0..<(8 * 1024 * 1024)).map { _ -> UInt8 in
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        }
        // The whole input is written before anything is read: cat's output fills our window long before,
        // so this only finishes if write() takes in output while the peer's window is closed.
        let result = try run(connection, "cat", input: input)
        #expect(result.stdout.count == input.count)
        #expect(result.stdout == input)
        #expect(result.status == 0)
    }

    @Test func silentPeerTimesOut() throws {
        let server = try TestServer()
        let connection = try server.connect(readTimeout: 2)
        let channel = try connection.exec("sleep 30")
        let start = ContinuousClock.now
        let error = #expect(throws: SSHError.self) {
            while true {
                let events = try channel.read(timeout: 0.5)
                #expect(events.isEmpty)
            }
        }
        let elapsed = seconds(since: start)
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("sleep 30") == true)
        #expect(elapsed >= 1.9 && elapsed < 8, "timed out after \(elapsed) s")
    }

    @Test func writeToACommandThatNeverReadsTimesOut() throws {
        let server = try TestServer()
        let connection = try server.connect(readTimeout: 2)
        let channel = try connection.exec("sleep 30")
        let start = ContinuousClock.now
        let error = #expect(throws: SSHError.self) { try channel.write([UInt8](repeating: 0x2A, count: 8 << 20)) }
        let elapsed = seconds(since: start)
        #expect(error?.code == .timeout)
        #expect(elapsed >= 1.9 && elapsed < 8, "timed out after \(elapsed) s")
    }

    @Test func lostConnectionIsReportedAsIO() throws {
        let server = try TestServer()
        let connection = try server.connect(readTimeout: 20)
        // $PPID is the sshd process serving this connection; killing it cuts the link mid-session.
        let channel = try connection.exec("echo $PPID; exec cat")
        var output: [UInt8] = []
        while !output.contains(UInt8(ascii: "\n")) {
            for case .stdout(let bytes) in try channel.read(timeout: 5) {
                output += bytes
            }
        }
        let pid = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try runProcess(["kill", "-KILL", pid]).status == 0)
        let start = ContinuousClock.now
        let error = #expect(throws: SSHError.self) {
            while true {
                _ = try channel.read(timeout: 1)
                try channel.write(Array("still there?\n".utf8))
            }
        }
        #expect(error?.code == .io)
        #expect(error?.message.contains("connection to 127.0.0.1:\(server.server.port) was lost") == true)
        #expect(seconds(since: start) < 10)
    }

    @Test func keepalivesWhileWaitingDoNotDisturbTheChannel() throws {
        let server = try TestServer()
        let connection = try server.connect(readTimeout: 10, keepaliveInterval: 1)
        let result = try run(connection, "sleep 3; echo awake")
        #expect(result.stdoutText == "awake\n")
        #expect(result.status == 0)
    }

    @Test func readReturnsEmptyWhenNothingArrivesInTime() throws {
        let server = try TestServer()
        let connection = try server.connect()
        let channel = try connection.exec("sleep 2; echo late")
        #expect(try channel.read(timeout: 0.2) == [])
        var output: [UInt8] = []
        while !output.contains(UInt8(ascii: "\n")) {
            for case .stdout(let bytes) in try channel.read(timeout: 5) {
                output += bytes
            }
        }
        #expect(String(decoding: output, as: UTF8.self) == "late\n")
    }

    @Test func waitExitKeepsOutputForRead() throws {
        let server = try TestServer()
        let connection = try server.connect()
        let channel = try connection.exec("echo kept; echo also >&2; exit 3")
        let exit = try channel.waitExit()
        #expect(exit.status == 3)
        let events = try channel.read(timeout: 1)
        #expect(events.contains(.stdout(Array("kept\n".utf8))))
        #expect(events.contains(.stderr(Array("also\n".utf8))))
        #expect(events.last == .eof)
        #expect(try channel.read(timeout: 1) == [])
    }

    @Test func severalCommandsShareOneConnection() throws {
        let server = try TestServer()
        let connection = try server.connect()
        for index in 1...3 {
            let result = try run(connection, "echo \(index); exit \(index)")
            #expect(result.stdoutText == "\(index)\n")
            #expect(result.status == Int32(index))
        }
    }

    @Test func channelFailsClearlyAfterDisconnect() throws {
        let server = try TestServer()
        let connection = try server.connect()
        let channel = try connection.exec("cat")
        connection.disconnect()
        connection.disconnect()
        let writeError = #expect(throws: SSHError.self) { try channel.write(Array("x".utf8)) }
        #expect(writeError?.code == .channel)
        let execError = #expect(throws: SSHError.self) { try connection.exec("true") }
        #expect(execError?.code == .channel)
    }

    @Test func writingAfterTheCommandExitedFails() throws {
        let server = try TestServer()
        let connection = try server.connect()
        let channel = try connection.exec("exit 0")
        #expect(try channel.waitExit().status == 0)
        let error = #expect(throws: SSHError.self) { try channel.write(Array("too late".utf8)) }
        #expect(error?.code == .channel || error?.code == .io)
    }
}
