/// `remote_url:` in agent.yml: where the first deploy clones an app from. git takes many spellings of a
/// repository, some of which run programs (`ext::sh -c …`) or read as options (`--upload-pack=…`); only the
/// plain ones are accepted, and the agent still passes the URL after `--`.
public enum RemoteURL {
    /// The URL schemes accepted before `://`.
    public static let schemes = ["https", "http", "ssh", "git", "git+ssh", "ssh+git", "file"]

    /// Why `url` is not accepted, or nil when it is one of: `SCHEME://…` with a scheme from ``schemes``, an
    /// scp-like `[user@]host:path`, or an absolute path on the VM.
    public static func problem(_ url: String) -> String? {
        let usage = "expected a git URL such as https://github.com/owner/repo.git, ssh://git@host/owner/repo.git, "
            + "git@github.com:owner/repo.git or an absolute path, got \"\(ControlCharacters.escaped(url))\""
        guard !url.isEmpty, url.utf8.count <= 2048 else { return usage }
        if url.hasPrefix("-") { return "must not start with \"-\" (git would read it as an option); " + usage }
        if url.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            return "must not contain spaces or control characters; " + usage
        }
        if url.hasPrefix("/") { return url.count > 1 ? nil : usage }
        if let range = url.rangeOf("://") {
            let scheme = url[..<range.lowerBound].lowercased()
            let rest = url[range.upperBound...]
            guard schemes.contains(scheme) else {
                let accepted = schemes.joined(separator: ", ")
                return "the scheme \"\(ControlCharacters.escaped(scheme))\" is not one of \(accepted); " + usage
            }
            guard !rest.isEmpty, !rest.hasPrefix("-") else { return usage }
            return nil
        }
        // `TRANSPORT::ADDRESS` runs git-remote-TRANSPORT, and `ext::` runs any command: never.
        if url.includes("::") { return "transport helpers (\"…::…\") are not accepted; " + usage }
        // scp-like, as git reads it: a colon before the first slash, with a host before it.
        guard let colon = url.firstIndex(of: ":") else { return usage }
        let host = url[..<colon].split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        let path = url[url.index(after: colon)...]
        guard !url[..<colon].includes("/"), !host.isEmpty, !host.hasPrefix("-"), !path.isEmpty else { return usage }
        return nil
    }
}
