import Foundation
import ShipkeepSandbox
import Yams

/// Runs this repository's `action.yml` the way the GitHub runner runs a composite action, as far as a test can:
/// each step's `if:` evaluated, its `env:` expressions filled from the inputs (with their defaults), the `github`
/// context and earlier steps' outputs, and its `run:` script written to a file and run with the runner's own
/// command for `shell: bash` (`bash --noprofile --norc -eo pipefail FILE`) in a clean environment: only what GitHub
/// gives a step (`GITHUB_ACTIONS=true`, `GITHUB_ACTION_PATH`, `GITHUB_WORKSPACE`, `RUNNER_TEMP`, a fresh
/// `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` per step, `GITHUB_ENV` carried to later steps) plus `extra`.
///
/// GitHub does not export a composite action's inputs as `INPUT_*` by itself; the action maps them in each
/// step's `env:`, which is what is evaluated here. A `uses:` step cannot run in a test: one whose condition
/// holds fails the run instead of being skipped quietly.
struct ActionRunner {
    /// What one run of the action did.
    struct Run {
        /// The exit status of the step that failed, or 0.
        var status: Int32 = 0
        /// Every step's stdout and stderr, in order.
        var log = ""
        /// The action's outputs, from its `outputs:` mapping.
        var outputs: [String: String] = [:]
        /// The job summary the steps wrote.
        var summary = ""
        /// The names of the steps that ran.
        var steps: [String] = []
    }

    /// The action's inputs, by name (`ssh-key`), as `with:` gives them.
    var inputs: [String: String]
    /// The working directory of the steps (the checked-out repository).
    let workspace: String
    /// The commit `github.sha` names.
    var sha = "0000000000000000000000000000000000000000"
    /// More environment, as a workflow's `env:` would set it (e.g. `RUNNER_DEBUG`).
    var extra: [String: String] = [:]

    /// The repository root, where action.yml is (`GITHUB_ACTION_PATH`).
    static var actionPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    /// action.yml, parsed.
    static func action() throws -> [String: Any] {
        let text = try String(contentsOfFile: actionPath + "/action.yml", encoding: .utf8)
        guard let action = try Yams.load(yaml: text) as? [String: Any] else {
            throw SandboxError("action.yml is not a mapping")
        }
        return action
    }

    /// The `runs.steps` of action.yml.
    static func steps() throws -> [[String: Any]] {
        guard let runs = try action()["runs"] as? [String: Any], let steps = runs["steps"] as? [[String: Any]] else {
            throw SandboxError("action.yml has no runs.steps")
        }
        return steps
    }

    /// Runs every step, stopping at the first that fails as GitHub does, then evaluates the action's outputs.
    func run() throws -> Run {
        let action = try Self.action()
        let scratch = workspace + "/../runner-" + UUID().uuidString.prefix(8)
        for directory in ["/temp", "/home"] {
            try FileManager.default.createDirectory(atPath: scratch + directory, withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var context = Context(inputs: try inputsWithDefaults(action), sha: sha)
        var carried: [String: String] = [:]
        var result = Run()
        for (index, step) in try Self.steps().enumerated() {
            let name = step["name"] as? String ?? "step \(index)"
            if let condition = step["if"] { guard try context.condition("\(condition)") else { continue } }
            if let uses = step["uses"] {
                throw SandboxError("step \"\(name)\" (uses: \(uses)) would run, and a test cannot run it")
            }
            guard let script = step["run"] as? String, step["shell"] as? String == "bash" else {
                throw SandboxError("step \"\(name)\" is neither `uses:` nor a `shell: bash` `run:`")
            }
            result.steps.append(name)
            let files = (script: "\(scratch)/\(index).sh", output: "\(scratch)/\(index).output",
                         summary: "\(scratch)/\(index).summary", env: "\(scratch)/\(index).env")
            try script.write(toFile: files.script, atomically: true, encoding: .utf8)
            for file in [files.output, files.summary, files.env] {
                _ = FileManager.default.createFile(atPath: file, contents: nil)
            }
            var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                       "HOME": scratch + "/home",
                       "GITHUB_ACTIONS": "true", "CI": "true", "RUNNER_OS": "Linux", "RUNNER_TEMP": scratch + "/temp",
                       "GITHUB_ACTION_PATH": Self.actionPath, "GITHUB_WORKSPACE": workspace, "GITHUB_SHA": sha,
                       "GITHUB_OUTPUT": files.output, "GITHUB_STEP_SUMMARY": files.summary, "GITHUB_ENV": files.env]
            env.merge(extra) { $1 }
            env.merge(carried) { $1 }
            for (key, value) in step["env"] as? [String: Any] ?? [:] { env[key] = try context.expand("\(value)") }
            let process = try runProcess(["env", "-i"] + env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                + ["bash", "--noprofile", "--norc", "-eo", "pipefail", files.script], cwd: workspace)
            result.log += "--- \(name) (exit \(process.status))\n" + process.stdout + process.stderr
            result.summary += try String(contentsOfFile: files.summary, encoding: .utf8)
            carried.merge(try Self.commandFile(files.env)) { $1 }
            if let id = step["id"] as? String { context.steps[id] = try Self.commandFile(files.output) }
            if process.status != 0 {
                result.status = process.status
                break
            }
        }
        for (name, output) in action["outputs"] as? [String: Any] ?? [:] {
            guard let value = (output as? [String: Any])?["value"] else { continue }
            result.outputs[name] = try context.expand("\(value)")
        }
        return result
    }

    private func inputsWithDefaults(_ action: [String: Any]) throws -> [String: String] {
        var values: [String: String] = [:]
        let context = Context(inputs: [:], sha: sha)
        for (name, spec) in action["inputs"] as? [String: Any] ?? [:] {
            if let given = inputs[name] {
                values[name] = given
            } else if let fallback = (spec as? [String: Any])?["default"] {
                values[name] = try context.expand("\(fallback)")
            } else {
                values[name] = ""
            }
        }
        if let unknown = inputs.keys.first(where: { values[$0] == nil }) {
            throw SandboxError("action.yml has no input \(unknown)")
        }
        return values
    }

    /// A `GITHUB_OUTPUT` or `GITHUB_ENV` file: `name=value` lines and `name<<DELIMITER` blocks.
    static func commandFile(_ path: String) throws -> [String: String] {
        var values: [String: String] = [:]
        var lines = try String(contentsOfFile: path, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)[...]
        while let line = lines.popFirst() {
            if let marker = line.range(of: "<<"), !line[..<marker.lowerBound].contains("=") {
                let delimiter = line[marker.upperBound...]
                var block: [Substring] = []
                while let next = lines.popFirst(), next != delimiter { block.append(next) }
                values[String(line[..<marker.lowerBound])] = block.joined(separator: "\n")
            } else if let equals = line.firstIndex(of: "=") {
                values[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
        }
        return values
    }

    /// The contexts the action's expressions read.
    private struct Context {
        var inputs: [String: String]
        var sha: String
        var steps: [String: [String: String]] = [:]

        /// `text` with every `${{ … }}` replaced by its value.
        func expand(_ text: String) throws -> String {
            var rest = Substring(text)
            var out = ""
            while let open = rest.range(of: "${{") {
                guard let close = rest[open.upperBound...].range(of: "}}") else {
                    throw SandboxError("unterminated expression in \(text)")
                }
                out += rest[..<open.lowerBound]
                out += try value(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
                rest = rest[close.upperBound...]
            }
            return out + rest
        }

        /// The value of `inputs.NAME`, `steps.ID.outputs.NAME` or `github.sha`/`github.action_path`.
        func value(_ path: String) throws -> String {
            let parts = path.split(separator: ".").map(String.init)
            switch (parts.first, parts.count) {
            case ("inputs", 2):
                guard let value = inputs[parts[1]] else { throw SandboxError("no input \(parts[1])") }
                return value
            case ("steps", 4) where parts[2] == "outputs":
                return steps[parts[1]]?[parts[3]] ?? ""
            case ("github", 2) where parts[1] == "sha":
                return sha
            case ("github", 2) where parts[1] == "action_path":
                return ActionRunner.actionPath
            default:
                throw SandboxError("the test's runner cannot evaluate ${{ \(path) }}")
            }
        }

        /// An `if:` of comparisons joined by `&&`: `VALUE == 'literal'` or `VALUE != 'literal'`.
        func condition(_ text: String) throws -> Bool {
            try text.components(separatedBy: "&&").allSatisfy { clause in
                let clause = clause.trimmingCharacters(in: .whitespaces)
                for op in ["!=", "=="] {
                    let sides = clause.components(separatedBy: op)
                    guard sides.count == 2 else { continue }
                    let literal = sides[1].trimmingCharacters(in: .whitespaces)
                    guard literal.hasPrefix("'"), literal.hasSuffix("'"), literal.count >= 2 else { break }
                    let equal = try value(sides[0].trimmingCharacters(in: .whitespaces))
                        == String(literal.dropFirst().dropLast())
                    return op == "==" ? equal : !equal
                }
                throw SandboxError("the test's runner cannot evaluate if: \(clause)")
            }
        }
    }
}
