import Foundation
import ShipkeepSandbox

/// An exposition as the real Prometheus client library reads it (Debian's python3-prometheus-client): its text
/// parser, then its stricter OpenMetrics parser (which rejects a family split in two, as Prometheus's own
/// scrape parser does), and the alert expressions given evaluated against the samples.
struct ParsedExposition {
    /// One sample: its family's name, the sample's name, labels and value.
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// The families in order (a name twice means the parser saw the family twice).
    var families: [String]
    var samples: [Sample]
    /// The alerts (by name) whose expression held for at least one sample.
    var firing: Set<String>

    /// The value of `name` with exactly these labels among others.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in
            sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value }
        }?.value
    }

    /// Parses `text`, failing with the parser's own message when it does not accept it.
    ///
    /// - Parameter alerts: (name, PromQL expression) of the simple form `metric{label="v",…} OP number`, OP one
    ///   of `== != > < >= <=`, the number possibly a product such as `7 * 86400`; an alert fires when any sample
    ///   of the metric with those labels satisfies it.
    static func parse(_ text: String, alerts: [(String, String)] = []) throws -> ParsedExposition {
        let alertJSON = String(decoding: try JSONSerialization.data(withJSONObject: alerts.map { [$0.0, $0.1] }),
                               as: UTF8.self)
        let result = try runProcess(["/usr/bin/python3", "-c", script, alertJSON], stdin: text)
        guard result.status == 0 else {
            throw SandboxError("the Prometheus parser rejects the exposition: \(result.stderr)\n\(text)")
        }
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        let samples = (object["samples"] as? [[Any]] ?? []).map { row in
            Sample(name: row[0] as? String ?? "", labels: row[1] as? [String: String] ?? [:],
                   value: (row[2] as? NSNumber)?.doubleValue ?? .nan)
        }
        return ParsedExposition(families: object["families"] as? [String] ?? [], samples: samples,
                                firing: Set(object["firing"] as? [String] ?? []))
    }

    private static let script = #"""
        import json, math, operator, re, sys
        from prometheus_client.parser import text_string_to_metric_families
        from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics

        text = sys.stdin.read()
        families, samples = [], []
        for family in text_string_to_metric_families(text):
            families.append(family.name)
            for s in family.samples:
                samples.append([s.name, s.labels, s.value])
        if len(set(families)) != len(families):
            sys.exit("a metric family appears more than once: %s" % families)
        for line in text.splitlines():
            if line and not line.startswith("#") and not re.match(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+$', line):
                sys.exit("not a sample line: %r" % line)
        list(openmetrics(text + "# EOF\n"))  # raises on a split or duplicated family

        ops = {"==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le, ">": operator.gt,
               "<": operator.lt}
        firing = []
        for name, expr in json.loads(sys.argv[1]):
            m = re.fullmatch(r'\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{([^}]*)\})?\s*(==|!=|>=|<=|>|<)\s*([0-9eE.+*\- ]+)',
                             expr)
            if not m:
                sys.exit("cannot evaluate the alert expression %r" % expr)
            metric, matchers, op, rhs = m.groups()
            wanted = dict(re.findall(r'(\w+)="([^"]*)"', matchers or ""))
            bound = eval(rhs, {"__builtins__": {}})
            if any(s[0] == metric and all(s[1].get(k) == v for k, v in wanted.items()) and ops[op](s[2], bound)
                   for s in samples):
                firing.append(name)
        print(json.dumps({"families": families, "samples": samples, "firing": firing}))
        """#
}
