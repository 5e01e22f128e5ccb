import Testing
@testable import Shared

/// `remote_url:`: the plain spellings of a repository, never an option or a program.
@Suite struct RemoteURLTests {
    @Test(arguments: ["https://github.com/owner/bots.git", "ssh://git@github.com/owner/bots.git",
                      "git@github.com:owner/bots.git", "github.com:owner/bots", "/srv/git/bots.git",
                      "file:///srv/git/bots.git", "git://example.com/bots", "git+ssh://git@host/bots.git"])
    func plainURLsAreAccepted(url: String) {
        #expect(RemoteURL.problem(url) == nil, "\(url): \(RemoteURL.problem(url) ?? "")")
    }

    @Test(arguments: ["", "-oProxyCommand=touch /tmp/x", "--upload-pack=touch /tmp/x", "ext::sh -c touch% /tmp/x",
                      "ext::sh", "fd::3", "relative/path", "ftp://example.com/repo", "https://host/a b",
                      "https://host/a\u{1b}[31m", "https://-oProxyCommand=x", ":path", "host:", "/", "@:x"])
    func optionsHelpersAndOddSpellingsAreRefused(url: String) {
        #expect(RemoteURL.problem(url) != nil, "\(url) was accepted")
    }

    @Test func agentYmlNamesTheLineAndKey() throws {
        let yaml = """
            apps:
              bots:
                path: /srv/bots
                remote_url: "--upload-pack=touch /tmp/x"
            """
        do {
            _ = try AgentConfig.parse(yaml, file: "agent.yml", home: "/home/deploy")
            Issue.record("an option-looking remote_url was accepted")
        } catch {
            #expect("\(error)".hasPrefix("agent.yml:4: apps.bots.remote_url: must not start with \"-\""), "\(error)")
        }
        let good = try AgentConfig.parse("apps:\n  bots:\n    path: /srv/bots\n    remote_url: git@github.com:o/b.git\n",
                                         file: "agent.yml", home: "/home/deploy")
        #expect(good.app("bots")?.remoteURL == "git@github.com:o/b.git")
    }
}
