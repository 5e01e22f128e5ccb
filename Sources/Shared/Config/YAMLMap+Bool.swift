extension YAMLMap {
    /// A boolean scalar: `true` or `false` (YAML 1.2's spelling; `yes`/`on` are refused as ambiguous).
    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let node = node(key) else { return nil }
        guard let text = node.string, ["true", "false"].contains(text) else {
            throw error(key, "expected true or false")
        }
        return text == "true"
    }
}
