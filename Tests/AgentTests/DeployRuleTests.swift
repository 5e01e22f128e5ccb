import Testing
@testable import Agent

/// What `--ref` may mean, and how `allow_refs` patterns match, without git.
@Suite struct DeployRuleTests {
    @Test func aRefMeansABranchOrATagAndNothingElse() {
        #expect(DeployRule.candidates(for: "main") == ["refs/heads/main", "refs/tags/main"])
        #expect(DeployRule.candidates(for: "v1.2") == ["refs/heads/v1.2", "refs/tags/v1.2"])
        #expect(DeployRule.candidates(for: "pull/1/head") == ["refs/heads/pull/1/head", "refs/tags/pull/1/head"])
        #expect(DeployRule.candidates(for: "refs/heads/release/1") == ["refs/heads/release/1"])
        #expect(DeployRule.candidates(for: "refs/tags/v1") == ["refs/tags/v1"])
        for refused in ["refs/pull/1/head", "refs/changes/01/1/1", "refs/remotes/origin/main", "refs/heads/",
                        "refs/notes/x", "HEAD", "FETCH_HEAD", "ORIG_HEAD", "refs/tags"] {
            #expect(DeployRule.candidates(for: refused) == nil, "\(refused)")
        }
        #expect(DeployRule.candidates(for: "fix-HEAD") != nil, "a branch whose name merely ends in HEAD")
    }

    @Test func patternsMatchLikeARefspecGlob() {
        #expect(DeployRule.matches("refs/tags/v1.2", pattern: "refs/tags/v*"))
        #expect(DeployRule.matches("refs/heads/release/1/hotfix", pattern: "refs/heads/release/*"))
        #expect(DeployRule.matches("refs/heads/stable", pattern: "refs/heads/stable"))
        #expect(!DeployRule.matches("refs/heads/stable-2", pattern: "refs/heads/stable"),
                "fetched as stable*, not allowed")
        #expect(!DeployRule.matches("refs/tags/x1", pattern: "refs/tags/v*"))
        #expect(!DeployRule.matches("refs/heads/release", pattern: "refs/heads/release/*"))
        #expect(DeployRule.matches("refs/tags/v1-signed", pattern: "refs/tags/v*-signed"))
        #expect(!DeployRule.matches("refs/tags/v-signed-x", pattern: "refs/tags/v*-signed"))
    }
}
