import Testing
@testable import Shared

/// The pieces that replaced Foundation and Yams in Shared: libyaml's composer, the strict JSON parser and the path
/// and trimming helpers, held to what the code they replaced did.
@Suite struct FoundationFreeSupportTests {
    @Test func yamlScalarsKeepYAML11IntegersAndNulls() throws {
        let root = try #require(try YAMLComposer.compose("a: 0x10\nb: 1_000\nc: \"5\"\nd: ~\ne: 010\nf: 1:30\ng: -3\n"))
        let map = try YAMLMap(root, file: "x.yml", path: "")
        #expect(try map.positiveInt("a") == 16)
        #expect(try map.positiveInt("b") == 1000)
        #expect(throws: ConfigError.self) { try map.positiveInt("c") }
        #expect(map.node("d") == nil)
        #expect(try map.positiveInt("e") == 8)
        #expect(try map.positiveInt("f") == 90)
        #expect(throws: ConfigError.self) { try map.positiveInt("g") }
    }

    @Test func yamlAliasesResolveAndOddDocumentsAreRefused() throws {
        let root = try #require(try YAMLComposer.compose("a: &x [one, two]\nb: *x\n"))
        #expect(try YAMLMap(root, file: "x.yml", path: "").stringList("b") == ["one", "two"])
        #expect(try YAMLComposer.compose("# only a comment\n") == nil)
        #expect(throws: YAMLComposer.Failure.self) { try YAMLComposer.compose("a: 1\n---\nb: 2\n") }
        #expect(throws: YAMLComposer.Failure.self) { try YAMLComposer.compose("a: *missing\n") }
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: YAMLComposer.Failure.self) { try YAMLComposer.compose(deep) }
    }

    @Test func strictJSONRefusesWhatJSONSerializationRefused() {
        #expect(JSONValue.parse(Array(#"{"a":[1,-2.5e3,true,null,"\u00e9\ud83d\ude00"]}"#.utf8)) != nil)
        for bad in [#"{"a":"x\#u{01}"}"#, #"{"a":1}x"#, #""top-level string""#, #"{"a":"\ud800"}"#, "{\"a\":01}",
                    #"{"a":}"#, "[1,]"] {
            #expect(JSONValue.parse(Array(bad.utf8)) == nil, "\(bad)")
        }
        #expect(JSONValue.parse(Array(#"{"id":"a","id":"b"}"#.utf8))?["id"].flatMap {
            if case .string(let id) = $0 { id } else { nil }
        } == "b")
    }

    @Test func pathsAndTrimmingFollowNSStringsRules() {
        #expect(PathName.parent(of: "/a/b") == "/a")
        #expect(PathName.parent(of: "/a/b/") == "/a")
        #expect(PathName.parent(of: "b") == "")
        #expect(PathName.parent(of: "/b") == "/")
        #expect(PathName.parent(of: "/") == "/")
        #expect(PathName.lastComponent(of: "/a/b/") == "b")
        #expect(PathName.lastComponent(of: "/") == "/")
        #expect(PathName.lastComponent(of: "b") == "b")
        #expect(" \tx y\n".trimming(while: \.isWhitespace) == "x y")
        #expect("\n a \n".trimming(while: \.isNewline) == " a ")
        #expect("  ".trimming(while: \.isWhitespace) == "")
    }
}
