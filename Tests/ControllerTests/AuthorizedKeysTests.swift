import Testing
@testable import Controller

/// The one change `install` makes to authorized_keys: the deploy key's line, once; everything else kept.
@Suite struct AuthorizedKeysTests {
    let login = "ssh-ed25519 AAAALOGIN me@laptop"
    let line = "restrict,command=\"'/bin/agent' 'serve'\" ssh-ed25519 AAAADEPLOY ci"

    @Test func addedOnceAndKeptAfterwardsWithTheOtherLinesUntouched() throws {
        let text = "# keys\n\(login)\n\n"
        let added = try AuthorizedKeys(text: text).adding(line)
        #expect(added.change == .added && added.text == "# keys\n\(login)\n\n\(line)\n")
        let again = try AuthorizedKeys(text: added.text).adding(line)
        #expect(again.change == .kept && again.text == added.text)
        let noNewline = try AuthorizedKeys(text: login).adding(line)
        #expect(noNewline.text == "\(login)\n\(line)\n")
        #expect(try AuthorizedKeys(text: "").adding(line).text == line + "\n")
    }

    @Test func anOlderLineForTheSameKeyIsUpdatedInPlaceAndDuplicatesDropped() throws {
        let old = "restrict,command=\"/old/agent serve\" ssh-ed25519 AAAADEPLOY ci"
        let updated = try AuthorizedKeys(text: "\(old)\n\(login)\n\(old)\n").adding(line)
        #expect(updated.change == .updated && updated.text == "\(line)\n\(login)\n")
    }

    @Test func theSameKeyWithoutAForcedCommandIsRefused() {
        #expect(throws: AuthorizedKeys.Unrestricted.self) {
            try AuthorizedKeys(text: "\(login)\nssh-ed25519 AAAADEPLOY ci\n").adding(line)
        }
    }
}
