import Foundation
import Yams

/// The agent's configuration (`agent.yml`): the authority on which apps exist and how they are deployed.
/// The controller can only name an app and a commit.
public struct AgentConfig: Equatable, Sendable {
    /// The file it was read from.
    public var file: String
    /// The apps, in file order.
    public var apps: [AppConfig]

    /// The app called `name`.
    public func app(_ name: String) -> AppConfig? { apps.first { $0.name == name } }

    /// Reads and validates `agent.yml`.
    ///
    /// - Parameter home: the agent user's home, for the default state dir.
    /// - Throws: ``ConfigError`` naming the file, line and key of the first problem.
    public static func load(file: String, home: String = NSHomeDirectory()) throws(ConfigError) -> AgentConfig {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(file: file, line: nil, key: "", message: "cannot read the file (\(Self.reason(error)))")
        }
        return try parse(text, file: file, home: home)
    }

    /// Parses and validates the text of an `agent.yml`.
    ///
    /// - Throws: ``ConfigError`` naming the file, line and key of the first problem.
    public static func parse(_ text: String, file: String, home: String = NSHomeDirectory()) throws(ConfigError) -> AgentConfig {
        let root = try compose(text, file: file)
        let top = try YAMLMap(root, file: file, path: "")
        try top.allowOnly(["apps"])
        guard let apps = try top.map("apps"), !apps.keys.isEmpty else {
            throw top.error(nil, "missing required key \"apps\" (a mapping of app names to their settings)")
        }
        var parsed: [AppConfig] = []
        for name in apps.keys {
            guard AppConfig.isValidName(name) else {
                throw apps.error(name, "app names use letters, digits, '.', '_' and '-' and start with a letter or digit")
            }
            guard let app = try apps.map(name) else { throw apps.error(name, "expected the app's settings") }
            parsed.append(try AppConfig(app, name: name, home: home))
        }
        return AgentConfig(file: file, apps: parsed)
    }

    /// Parses YAML text into a node tree, with errors that name the file and line.
    static func compose(_ text: String, file: String) throws(ConfigError) -> Node {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigError(file: file, line: nil, key: "", message: "the file is empty")
            }
            return node
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            throw ConfigError(file: file, line: Self.line(of: error), key: "", message: "not valid YAML: \(Self.problem(of: error))")
        } catch {
            throw ConfigError(file: file, line: nil, key: "", message: "not valid YAML")
        }
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        case .duplicatedKeysInMapping(_, let context): context.mark.line
        default: nil
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        case .reader(let problem, _, _, _): problem
        case .duplicatedKeysInMapping(let duplicates, _):
            "the key \(duplicates.map { "\"\($0)\"" }.joined(separator: ", ")) appears twice in one mapping"
        default: String("\(error)".split(separator: "\n").first ?? "")
        }
    }

    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let posix = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        return nsError.localizedDescription
    }
}
