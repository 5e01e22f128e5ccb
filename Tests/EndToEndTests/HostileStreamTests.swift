import Foundation
import Testing
import ShipkeepSandbox

/// Large and random input on `shipkeep-agent serve`'s stdin: a typed error result and exit 2, never a signal,
/// and memory that stays bounded however much is sent. Memory is measured on the agent run directly with the
/// input as its stdin, under GNU time (`%M`, the agent's own peak RSS: time forks it, so the figure is not
/// inflated by this test process as a `posix_spawn`ed child's `ru_maxrss` is); the same input also goes
/// through the real sshd with the forced-command key, where the exit status and the events are checked.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct HostileStreamTests {
    /// The ceiling on the agent's peak RSS, whatever the input. A 100 MB line must not be held in memory.
    static let rssLimitKiB = 64 * 1024

    private static let hello = Data((#"{"v":1,"type":"hello","id":"h","client":"t","protocols":[1]}"# + "\n").utf8)

    /// The agent's result and its peak RSS in KiB.
    private func agent(_ vm: VMSandbox, _ input: Data) throws -> (result: ProcessResult, peakRSSKiB: Int) {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/time"),
                     "GNU time is missing: run scripts/install-deps.sh (apt-get install time)")
        let result = try runProcess(["/usr/bin/time", "-f", "peak_rss_kib=%M", vm.agentBinary, "serve", "--config",
                                     vm.agentConfigPath], stdinBytes: input)
        let line = result.stderr.split(separator: "\n").last { $0.hasPrefix("peak_rss_kib=") }
        let peak = try #require(line.flatMap { Int($0.dropFirst("peak_rss_kib=".count)) }, "\(result.stderr)")
        #expect(!result.stderr.contains("terminated by signal"), "\(result.stderr)")
        return (result, peak)
    }

    @Test func theMemoryMeasureSeesTheAgentNotThisProcess() throws {
        try withSandbox { vm in
            let idle = try agent(vm, Data())
            #expect(idle.result.status == 0)
            #expect(idle.peakRSSKiB > 1024 && idle.peakRSSKiB < Self.rssLimitKiB, "\(idle.peakRSSKiB) KiB")
        }
    }

    private func overSSH(_ vm: VMSandbox, _ input: Data) throws -> ProcessResult {
        try runProcess(["ssh", "-T", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                        "-o", "UserKnownHostsFile=\(vm.server.knownHostsPath)", "-o", "IdentitiesOnly=yes",
                        "-i", vm.server.userKeyPath, "-p", String(vm.server.port),
                        "\(vm.server.user)@\(vm.server.listenAddress)"],
                       environment: ["SSH_AUTH_SOCK": ""], stdinBytes: input)
    }

    private func errorCode(_ result: ProcessResult) -> String? {
        let last = jsonLines(result.stdout).last { $0["type"] as? String == "result" }
        return (last?["error"] as? [String: Any])?["code"] as? String
    }

    /// Deterministic pseudo-random bytes (SplitMix64), so a failure can be replayed from its seed.
    private static func randomBytes(count: Int, seed: UInt64) -> Data {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            bytes[index] = UInt8(truncatingIfNeeded: mixed ^ (mixed >> 31))
        }
        return Data(bytes)
    }

    @Test func a100MegabyteLineIsRefusedWithBoundedMemory() throws {
        try withSandbox { vm in
            var huge = Self.hello
            huge.append(Data(repeating: UInt8(ascii: "x"), count: 100 << 20))
            huge.append(UInt8(ascii: "\n"))
            let (direct, peak) = try agent(vm, huge)
            #expect(direct.status == 2, "exit \(direct.status): \(direct.stderr)")
            #expect(errorCode(direct) == "line_too_long", "\(direct.stdout)")
            #expect(peak < Self.rssLimitKiB, "peak RSS \(peak) KiB with a 100 MB line")
            let remote = try overSSH(vm, huge)
            #expect(remote.status == 2, "exit \(remote.status): \(remote.stderr)")
            #expect(errorCode(remote) == "line_too_long")

            try ReliabilityRecord.hostileInput(
                id: "02", scenario: "a 100 MB line after hello",
                injection: "agent stdin, directly, and through sshd with the deploy key",
                outcome: "direct: \(HostileOutcome.exits([direct.status])), \(errorCode(direct) ?? "no error"), "
                    + "\(HostileOutcome.rss(peak, limitKiB: Self.rssLimitKiB)); through sshd: "
                    + "\(HostileOutcome.exits([remote.status])), \(errorCode(remote) ?? "no error")",
                test: "HostileStreamTests/a100MegabyteLineIsRefusedWithBoundedMemory()"
            ).write()
        }
    }

    @Test func manyLinesJustUnderTheLimitKeepMemoryBounded() throws {
        try withSandbox { vm in
            // 40 valid requests of almost 1 MiB each (status of an unknown app): each is answered and dropped.
            let filler = String(repeating: "y", count: (1 << 20) - 64)
            var input = Self.hello
            for index in 0..<40 {
                input.append(Data(#"{"v":1,"type":"status","id":"\#(index)","app":"\#(filler)"}"#.utf8 + [0x0A]))
            }
            let (direct, peak) = try agent(vm, input)
            #expect(direct.status == 0, "exit \(direct.status): \(direct.stderr)")
            let answers = jsonLines(direct.stdout).filter { $0["type"] as? String == "result" }.count
            #expect(answers == 41)
            #expect(peak < Self.rssLimitKiB, "peak RSS \(peak) KiB")

            try ReliabilityRecord.hostileInput(
                id: "03", scenario: "40 requests of just under 1 MiB each (the line limit)", injection: "agent stdin",
                outcome: "\(answers) of 41 lines answered (hello + 40); \(HostileOutcome.exits([direct.status])); "
                    + HostileOutcome.rss(peak, limitKiB: Self.rssLimitKiB),
                test: "HostileStreamTests/manyLinesJustUnderTheLimitKeepMemoryBounded()"
            ).write()
        }
    }

    @Test func randomBytesGetAnErrorNeverASignal() throws {
        try withSandbox { vm in
            var peak = 0
            var statuses: [Int32] = []
            var codes: [String?] = []
            for seed in UInt64(1)...12 {
                // With and without a valid hello first, so the garbage also reaches a greeted session.
                let noise = Self.randomBytes(count: 256 << 10, seed: seed)
                let input = seed.isMultiple(of: 2) ? Self.hello + noise : noise
                let (result, rss) = try agent(vm, input)
                #expect(result.status == 2, "seed \(seed): exit \(result.status): \(result.stderr)")
                #expect(["malformed", "line_too_long", "unsupported_version", "invalid_message", "unknown_type"]
                    .contains(errorCode(result) ?? ""), "seed \(seed): \(result.stdout.suffix(300))")
                peak = max(peak, rss)
                statuses.append(result.status)
                codes.append(errorCode(result))
            }
            #expect(peak < Self.rssLimitKiB, "peak RSS \(peak) KiB")
            let remote = try overSSH(vm, Self.randomBytes(count: 4 << 20, seed: 99))
            #expect(remote.status == 2, "exit \(remote.status): \(remote.stderr)")
            #expect(errorCode(remote) != nil)

            try ReliabilityRecord.hostileInput(
                id: "01", scenario: "random bytes: 12 seeds × 256 KiB, half after a valid hello; 4 MiB through sshd",
                injection: "agent stdin, directly; then through sshd with the deploy key",
                outcome: "\(HostileOutcome.exits(statuses)) for every seed, typed error "
                    + "(\(HostileOutcome.codes(codes))), no signal; "
                    + "\(HostileOutcome.rss(peak, limitKiB: Self.rssLimitKiB)); "
                    + "through sshd: \(HostileOutcome.exits([remote.status])), \(errorCode(remote) ?? "no error")",
                test: "HostileStreamTests/randomBytesGetAnErrorNeverASignal()"
            ).write()
        }
    }

    private static let statusPrefix = #"{"v":1,"type":"status","id":"x","app":"#

    /// Named so that a failure report shows the name, not a megabyte of brackets.
    private static let pathological: [String: String] = [
        "arrays": statusPrefix + String(repeating: "[", count: (1 << 20) - 100),
        "objects": statusPrefix + String(repeating: #"{"a":"#, count: 200_000),
        "huge numbers": #"{"v":1e999999,"type":"status","id":"1","seq":123456789012345678901234567890}"#,
        "a huge version": #"{"v":123456789012345678901234567890,"type":"hello","id":"1"}"#,
        "NUL in a string": "{\"v\":1,\"type\":\"st\u{0}atus\",\"id\":\"1\"}",
        "a lone surrogate escape": #"{"v":1,"type":"status","id":"\ud800","app":"\udfff"}"#,
    ]

    /// What each pathological line is, for the doc.
    private static let described: [String: String] = [
        "arrays": "an app name of ~1M `[` (nesting)",
        "objects": "an app name of 200k `{\"a\":` (nesting)",
        "huge numbers": "`\"v\":1e999999` and a 30-digit `seq`",
        "a huge version": "a 30-digit version in hello",
        "NUL in a string": "a NUL inside the type",
        "a lone surrogate escape": "lone surrogate escapes (`\\ud800`, `\\udfff`) in id and app",
    ]

    @Test(arguments: pathological.keys.sorted())
    func pathologicalJSONGetsAnErrorNeverASignal(name: String) throws {
        let line = try #require(Self.pathological[name])
        try withSandbox { vm in
            let (result, peak) = try agent(vm, Self.hello + Data(line.utf8) + [0x0A])
            #expect(result.status == 2 || (result.status == 0 && errorCode(result) == "unknown_app"),
                    "\(name): exit \(result.status): \(result.stderr)")
            #expect(errorCode(result) != nil, "\(name): \(result.stdout.suffix(300))")
            #expect(peak < Self.rssLimitKiB, "\(name): peak RSS \(peak) KiB")

            let index = try #require(Self.pathological.keys.sorted().firstIndex(of: name))
            try ReliabilityRecord.hostileInput(
                id: "04-\(index)", scenario: "pathological JSON: \(Self.described[name] ?? name)",
                injection: "agent stdin, after hello",
                outcome: "\(HostileOutcome.exits([result.status])), \(errorCode(result) ?? "no error"), no signal; "
                    + HostileOutcome.rss(peak, limitKiB: Self.rssLimitKiB),
                test: "HostileStreamTests/pathologicalJSONGetsAnErrorNeverASignal(name: \(name))"
            ).write()
        }
    }
}
