/// The restart gate (`gate:` and `gate_timeout:` of an app): a command asked before a deploy changes anything and
/// before a restart or stop. Exit 0 means go; anything else means busy (an open trade), and it is asked again every
/// few seconds until `timeout`, when the deploy or restart is refused with nothing changed.
public struct GateConfig: Equatable, Sendable {
    /// argv, run in the work tree.
    public var command: [String]
    /// Seconds to keep asking while it says busy.
    public var timeout: Int

    /// Five minutes: long enough for a bot to close a position, short enough for a CI job to wait.
    public static let defaultTimeout = 300

    /// A gate; see the properties.
    public init(command: [String], timeout: Int = GateConfig.defaultTimeout) {
        self.command = command
        self.timeout = timeout
    }
}

/// How a command service is stopped and started on its own (`stop:` and `start:` beside its `restart:`).
public struct ServiceCommands: Equatable, Sendable {
    /// argv that stops the service; `shipkeep stop` refuses a command service without it.
    public var stop: [String]?
    /// argv that starts it; without it, `shipkeep start` runs the service's `restart:`.
    public var start: [String]?

    /// Commands; see the properties.
    public init(stop: [String]? = nil, start: [String]? = nil) {
        self.stop = stop
        self.start = start
    }
}

extension AppConfig {
    /// The `stop` argv of a command service, or nil when agent.yml names none.
    public func stopCommand(of service: String) -> [String]? {
        serviceCommands[service]?.stop
    }

    /// The `start` argv of a command service: its `start:`, else its `restart:`.
    public func startCommand(of service: String) -> [String]? {
        if let start = serviceCommands[service]?.start { return start }
        for case .command(let name, let restart, _, _) in services where name == service { return restart }
        return nil
    }

    /// `gate: [argv]` and `gate_timeout: SECONDS`.
    static func gate(_ map: YAMLMap) throws(ConfigError) -> GateConfig? {
        let timeout = try map.positiveInt("gate_timeout")
        guard let command = try map.argv("gate") else {
            if timeout != nil { throw map.error("gate_timeout", "goes with gate: [argv...] (the command to ask)") }
            return nil
        }
        return GateConfig(command: command, timeout: timeout ?? GateConfig.defaultTimeout)
    }

    /// `stop:` and `start:` of each command service, by name; a name given twice would make them ambiguous.
    static func serviceCommands(_ map: YAMLMap) throws(ConfigError) -> [String: ServiceCommands] {
        var commands: [String: ServiceCommands] = [:]
        var names: Set<String> = []
        for (index, node) in (try map.list("services") ?? []).enumerated() {
            let service = try YAMLMap(node, file: map.file, path: YAMLMap.join(map.path, "services.\(index)"))
            guard service.node("systemd") == nil else { continue }
            let name = try service.string("name") ?? "service-\(index + 1)"
            guard names.insert(name).inserted else {
                throw service.error("name", "\"\(name)\" names two services; give each its own name")
            }
            let entry = ServiceCommands(stop: try service.argv("stop"), start: try service.argv("start"))
            if entry.stop != nil || entry.start != nil { commands[name] = entry }
        }
        return commands
    }
}
