/// A YAML mapping read with its place in the file, so every error names the file, the line and the key.
struct YAMLMap {
    let file: String
    let path: String
    let line: Int?
    private let entries: [(key: String, value: YAMLNode, line: Int?)]

    /// Wraps `node`, which must be a mapping.
    init(_ node: YAMLNode, file: String, path: String) throws(ConfigError) {
        guard case .mapping(let mapping, _) = node else {
            throw ConfigError(file: file, line: node.line, key: path, message: "expected a mapping of keys")
        }
        var entries: [(key: String, value: YAMLNode, line: Int?)] = []
        for (key, value) in mapping {
            guard let name = key.string else {
                throw ConfigError(file: file, line: key.line, key: path, message: "keys must be strings")
            }
            if entries.contains(where: { $0.key == name }) {
                throw ConfigError(file: file, line: key.line, key: Self.join(path, name),
                                  message: "the key appears twice")
            }
            entries.append((name, value, key.line))
        }
        self.file = file
        self.path = path
        self.line = node.line
        self.entries = entries
    }

    /// The keys in file order.
    var keys: [String] { entries.map(\.key) }

    /// Refuses any key not in `known`, naming it and the keys that are allowed.
    func allowOnly(_ known: [String]) throws(ConfigError) {
        for entry in entries where !known.contains(entry.key) {
            throw ConfigError(file: file, line: entry.line, key: Self.join(path, entry.key),
                              message: "unknown key (expected one of: \(known.joined(separator: ", ")))")
        }
    }

    /// The node under `key`, if present and not null.
    func node(_ key: String) -> YAMLNode? {
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        if entry.value.isNull { return nil }
        return entry.value
    }

    /// An error about `key` (or the mapping itself), placed at its line.
    func error(_ key: String?, _ message: String) -> ConfigError {
        let line = key.flatMap { name in entries.first(where: { $0.key == name })?.line } ?? self.line
        return ConfigError(file: file, line: line, key: key.map { Self.join(path, $0) } ?? path, message: message)
    }

    /// A required key's node.
    func require(_ key: String) throws(ConfigError) -> YAMLNode {
        guard let node = node(key) else { throw error(nil, "missing required key \"\(key)\"") }
        return node
    }

    /// A nested mapping.
    func map(_ key: String) throws(ConfigError) -> YAMLMap? {
        guard let node = node(key) else { return nil }
        return try YAMLMap(node, file: file, path: Self.join(path, key))
    }

    /// A string scalar.
    func string(_ key: String) throws(ConfigError) -> String? {
        guard let node = node(key) else { return nil }
        guard let text = node.string else { throw error(key, "expected a string") }
        return text
    }

    /// A positive integer scalar.
    func positiveInt(_ key: String) throws(ConfigError) -> Int? {
        guard let node = node(key) else { return nil }
        guard let value = node.int, value > 0 else { throw error(key, "expected a whole number greater than 0") }
        return value
    }

    /// A list of strings, or a single string taken as a list of one.
    func stringList(_ key: String) throws(ConfigError) -> [String]? {
        guard let node = node(key) else { return nil }
        if let text = node.string { return [text] }
        guard case .sequence(let sequence, _) = node else { throw error(key, "expected a list of strings") }
        return try sequence.map { (item: YAMLNode) throws(ConfigError) -> String in
            guard let text = item.string else {
                throw ConfigError(file: file, line: item.line, key: Self.join(path, key),
                                  message: "expected a list of strings")
            }
            return text
        }
    }

    /// A command as an argv array: a non-empty list of strings. A plain string is refused, because it
    /// would have to be split by a shell.
    func argv(_ key: String) throws(ConfigError) -> [String]? {
        guard let node = node(key) else { return nil }
        return try Self.argv(node, file: file, key: Self.join(path, key))
    }

    /// A list of argv arrays.
    func argvList(_ key: String) throws(ConfigError) -> [[String]]? {
        guard let node = node(key) else { return nil }
        guard case .sequence(let sequence, _) = node else {
            throw error(key, "expected a list of commands, each a list of strings like [\"pip\", \"install\"]")
        }
        return try sequence.map { (item: YAMLNode) throws(ConfigError) -> [String] in
            try Self.argv(item, file: file, key: Self.join(path, key))
        }
    }

    /// The items of a list.
    func list(_ key: String) throws(ConfigError) -> [YAMLNode]? {
        guard let node = node(key) else { return nil }
        guard case .sequence(let sequence, _) = node else { throw error(key, "expected a list") }
        return sequence
    }

    static func argv(_ node: YAMLNode, file: String, key: String) throws(ConfigError) -> [String] {
        let problem = "expected a command as a list of strings, like [\"./restart.sh\", \"--quick\"] (no shell is used)"
        guard case .sequence(let sequence, _) = node, !sequence.isEmpty else {
            throw ConfigError(file: file, line: node.line, key: key, message: problem)
        }
        return try sequence.map { (item: YAMLNode) throws(ConfigError) -> String in
            guard let text = item.string else {
                throw ConfigError(file: file, line: item.line, key: key, message: problem)
            }
            return text
        }
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }
}
