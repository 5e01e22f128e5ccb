import Foundation
import Testing
@testable import Controller
@testable import Shared

/// The exposition's shape, which the Prometheus parser insists on: each family declared once, its samples
/// together, whatever order the targets, apps and data dirs come in.
@Suite struct PrometheusTests {
    private func app(_ name: String, service: Bool) -> AppStatus {
        AppStatus(name: name, path: "/srv/\(name)", branch: "main", head: nil, dirty: false, dirtyPaths: [],
                  data: [DataDirStatus(path: "out", exists: true, bytes: 1, files: 1, newestMtime: Timestamp.now()),
                         DataDirStatus(path: "logs", exists: true, bytes: 2, files: 1, newestMtime: Timestamp.now())],
                  disks: [DiskStatus(role: "data", dir: "out", path: "/srv", freeBytes: 5, totalBytes: 10),
                          DiskStatus(role: "state", path: "/var", freeBytes: 5, totalBytes: 10)],
                  lock: nil, lastDeploy: nil, health: service ? .ok : .critical, reasons: [],
                  checks: [CheckResult(kind: .service, name: "bot", ok: service, seconds: 0.004),
                           CheckResult(kind: .data, name: "out", ok: true, seconds: 0)])
    }

    @Test func everyFamilyIsDeclaredOnceWithItsSamplesTogether() {
        let report = StatusReport(host: "vm", agentVersion: "0.1.0", time: Timestamp.now(),
                                  apps: [app("bots", service: true), app("web", service: false)])
        let text = Prometheus.render([.init(target: "a", report: report), .init(target: "b", report: nil,
                                                                                 reason: "host_key"),
                                      .init(target: "c", report: report)])
        var seen: [String] = []
        var current = ""
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                current = String(line.split(separator: " ")[2])
                #expect(!seen.contains(current), "\(current) declared twice")
                seen.append(current)
            } else if !line.hasPrefix("#") {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                #expect(name == current, "a \(name) sample under \(current)")
            }
        }
        #expect(seen.first == "shipkeep_up")
        #expect(text.contains(#"shipkeep_up{reason="host_key",target="b"} 0"#))
        #expect(text.contains(#"shipkeep_service_up{app="web",service="bot",target="c"} 0"#))
        #expect(text.contains(#"shipkeep_disk_free_bytes{app="bots",dir="out",role="data",target="a"} 5"#))
        #expect(text.contains(#"shipkeep_check_duration_seconds{app="bots",check="bot",kind="service",target="a"} 0.004"#))
    }

    @Test func theFirstLineNamesTheWorstFailure() {
        var bots = app("bots", service: true)
        bots.health = .warning
        bots.reasons = ["1 tracked file(s) differ from HEAD: a.py"]
        var web = app("web", service: false)
        web.reasons = ["bot check (./check.sh) exited with status 1", "logs is stale"]
        let report = StatusReport(host: "vm", agentVersion: "0.1.0", time: Timestamp.now(), apps: [bots, web])
        #expect(StatusText.headline(report) == "web: bot check (./check.sh) exited with status 1 (and 2 more)")
        let line = StatusText(terminal: Terminal(colors: false)).render(report, target: "t").split(separator: "\n").first
        #expect(line == "CRITICAL t: web: bot check (./check.sh) exited with status 1 (and 2 more) (host vm, agent 0.1.0)")
    }
}
