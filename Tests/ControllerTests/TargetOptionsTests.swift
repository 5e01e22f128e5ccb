import Foundation
import Testing
@testable import Controller

@Suite struct TargetAddressTests {
    @Test(arguments: [
        ("vm.example.com", nil as String?, "vm.example.com", nil as Int?),
        ("deploy@vm", "deploy", "vm", nil),
        ("deploy@vm:2222", "deploy", "vm", 2222),
        ("[::1]:2222", nil, "::1", 2222),
        ("::1", nil, "::1", nil),
        ("ssh://ci@10.0.0.5:22/", "ci", "10.0.0.5", 22),
        ("user@name@host", "user@name", "host", nil),
    ])
    func parses(text: String, user: String?, host: String, port: Int?) throws {
        #expect(try TargetAddress.parse(text) == TargetAddress(user: user, host: host, port: port))
    }

    @Test(arguments: ["@host", "user@", "[::1", "[::1]x", "host:port", "-oProxyCommand=evil"])
    func refuses(text: String) {
        #expect(throws: ControllerError.self) { try TargetAddress.parse(text) }
    }

    @Test func shellQuotingKeepsEveryByteLiteral() {
        #expect(ShellQuote.quote("/usr/local/bin/shipkeep-agent") == "'/usr/local/bin/shipkeep-agent'")
        #expect(ShellQuote.quote("it's; rm -rf / $(x)") == #"'it'\''s; rm -rf / $(x)'"#)
    }
}

@Suite struct RenderingTests {
    @Test func agesAreCompact() {
        #expect(StatusText.age(5) == "5s")
        #expect(StatusText.age(93) == "1m33s")
        #expect(StatusText.age(3 * 3600 + 120) == "3h02m")
        #expect(StatusText.age(2 * 86400 + 3600) == "2d1h")
        #expect(StatusText.age(-4) == "0s")
    }

    @Test func prometheusWithoutAReportSaysDownAndWhy() {
        let text = Prometheus.render([.init(target: "root@127.0.0.1:22", report: nil, reason: "connection",
                                            time: Date(timeIntervalSince1970: 1_800_000_000))])
        #expect(text == """
            # HELP shipkeep_up Whether the agent answered (1) or not (0, with the reason).
            # TYPE shipkeep_up gauge
            shipkeep_up{reason="connection",target="root@127.0.0.1:22"} 0
            # HELP shipkeep_status_code The probe's verdict: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
            # TYPE shipkeep_status_code gauge
            shipkeep_status_code{target="root@127.0.0.1:22"} 3
            # HELP shipkeep_probe_timestamp_seconds When the probe ran (Unix time).
            # TYPE shipkeep_probe_timestamp_seconds gauge
            shipkeep_probe_timestamp_seconds{target="root@127.0.0.1:22"} 1800000000

            """)
    }

    @Test func deployExitCodesFollowTheResult() {
        #expect(DeployExit.code(for: .success) == 0)
        #expect(DeployExit.code(for: .failure(.rolledBack, "x")) == 1)
        #expect(DeployExit.code(for: .failure(.refused, "x")) == 1)
        #expect(DeployExit.code(for: .failure(.rollbackUnhealthy, "x")) == 2)
        #expect(DeployExit.code(for: .failure(.locked, "x")) == 4)
        #expect(DeployExit.code(for: .failure(.superseded, "x")) == 4)
    }
}
