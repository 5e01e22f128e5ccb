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
    public static func load(file: String, home: String = ConfigFile.home()) throws(ConfigError) -> AgentConfig {
        try parse(try ConfigFile.read(file), file: file, home: home)
    }

    /// Parses and validates the text of an `agent.yml`.
    ///
    /// - Throws: ``ConfigError`` naming the file, line and key of the first problem.
    public static func parse(_ text: String, file: String, home: String = ConfigFile.home()) throws(ConfigError) -> AgentConfig {
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
    static func compose(_ text: String, file: String) throws(ConfigError) -> YAMLNode {
        do {
            guard let node = try YAMLComposer.compose(text) else {
                throw ConfigError(file: file, line: nil, key: "", message: "the file is empty")
            }
            return node
        } catch let error as YAMLComposer.Failure {
            throw ConfigError(file: file, line: error.line, key: "", message: "not valid YAML: \(error.problem)")
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(file: file, line: nil, key: "", message: "not valid YAML")
        }
    }
}
