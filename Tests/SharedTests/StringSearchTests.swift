import Testing
@testable import Shared

/// Shared's substring search, which replaced `_StringProcessing`'s in the agent's targets, held to what
/// `contains(_:)`, `firstRange(of:)`, `replacing(_:with:)` and `trimmingPrefix(_:)` gave (tests may link it).
@Suite struct StringSearchTests {
    static let haystacks = ["", "a", "abc", "aaab", "wrong password", "restic: Fatal: wrong password or no key found",
                            "Start request repeated too quickly.", "s3://user:pw@host/bucket", "ab::cd", "xyzxyz",
                            "línea ünïcode café", "😀 emoji 😀"]
    static let needles = ["", "a", "b", "ab", "aab", "wrong password", "://", "::", "xyz", "zx", "café", "😀", "q"]

    @Test func includesAndRangeOfAgreeWithTheStandardSearch() {
        for haystack in Self.haystacks {
            for needle in Self.needles where !needle.isEmpty {
                #expect(haystack.includes(needle) == haystack.contains(needle), "\(haystack) / \(needle)")
                let mine = haystack.rangeOf(needle).map { haystack[$0] }
                let theirs = haystack.firstRange(of: needle).map { haystack[$0] }
                #expect(mine == theirs, "\(haystack) / \(needle)")
                #expect(haystack.rangeOf(needle)?.lowerBound == haystack.firstRange(of: needle)?.lowerBound)
            }
            #expect(haystack.includes(""))
        }
        #expect("aaab"[...].dropFirst().includes("aab"))
        #expect(!"abc".includes("abcd"))
    }

    @Test func replacingAllAgreesWithReplacing() {
        for haystack in Self.haystacks {
            for needle in Self.needles where !needle.isEmpty {
                #expect(haystack.replacingAll(needle, with: "***") == haystack.replacing(needle, with: "***"),
                        "\(haystack) / \(needle)")
            }
            #expect(haystack.replacingAll("", with: "***") == haystack)
        }
        #expect("aaaa".replacingAll("aa", with: "a") == "aa")
        #expect("token=s3cr3t; again s3cr3t".replacingAll("s3cr3t", with: "***") == "token=***; again ***")
    }

    @Test func droppingPrefixDropsItOnce() {
        #expect("  two".droppingPrefix(" ") == " two")
        #expect("x".droppingPrefix(" ") == "x")
        #expect("".droppingPrefix(" ") == "")
        for text in Self.haystacks { #expect(text.droppingPrefix(" ") == text.trimmingPrefix(" ")) }
    }
}
