import Yams

extension YAMLMap {
    /// A boolean scalar: `true` or `false` (YAML 1.2's spelling; `yes`/`on` are refused as ambiguous).
    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let scalar) = node, ["true", "false"].contains(scalar.string) else {
            throw error(key, "expected true or false")
        }
        return scalar.string == "true"
    }
}
