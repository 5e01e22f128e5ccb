import Testing
@testable import Shared

/// The byte scan of `ControlCharacters.first(in:)` finds exactly the scalars `isControl` names, wherever they sit.
@Suite(.timeLimit(.minutes(10))) struct ControlCharactersTests {
    @Test func theByteScanAgreesWithTheScalarRule() {
        let edges: [UInt32] = [0x00, 0x1F, 0x20, 0x7E, 0x7F, 0x80, 0x85, 0x9F, 0xA0, 0xC2, 0xFF, 0x100, 0x2028, 0x1F600]
        for value in edges {
            let scalar = Unicode.Scalar(value)!
            for text in ["\(scalar)", "ab\(scalar)", "é\(scalar)x", "\u{C2}\(scalar)"] {
                let expected = text.unicodeScalars.first(where: ControlCharacters.isControl)
                #expect(ControlCharacters.first(in: text) == expected,
                        "U+\(String(value, radix: 16)) in \(text.debugDescription)")
            }
        }
        #expect(ControlCharacters.first(in: String(repeating: "QUJD", count: 100_000)) == nil)
    }
}
