/// Codable to JSON with the standard library alone: the bytes `JSONEncoder` wrote with `.sortedKeys` (and
/// `.withoutEscapingSlashes` unless `escapingSlashes`), ``Timestamp`` standing where a `.iso8601` `Date` stood.
/// Keys sorted as `String` compares them, strings escaped as `JSONEncoder` escapes them (`\"`, `\\`, `\b`, `\f`,
/// `\n`, `\r`, `\t`, other control characters as `\u00xx`, `/` as `\/` when asked), doubles in their shortest
/// round-tripping form without a trailing `.0` (`2`, `0.1`, `1e-07`, `1e+20`).
public enum JSONEncoding {
    /// The JSON of `value`, compact, without a trailing newline.
    ///
    /// - Throws: `EncodingError.invalidValue` for a non-finite number, or a top-level value that encodes nothing.
    public static func encode(_ value: some Encodable, escapingSlashes: Bool = false) throws -> [UInt8] {
        let tree = try EncodedValue.wrap(value, at: [])
        guard let tree else {
            throw EncodingError.invalidValue(value, .init(codingPath: [],
                                                          debugDescription: "\(type(of: value)) encoded nothing"))
        }
        var writer = Writer(escapingSlashes: escapingSlashes)
        writer.write(tree)
        return writer.bytes
    }

    /// Appends `text` as a JSON string, quoted and escaped as ``encode(_:escapingSlashes:)`` writes every string:
    /// the one escaping, for types that write their JSON directly (the agent's snapshot manifest).
    package static func appendString(_ text: String, escapingSlashes: Bool, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\")
            || (escapingSlashes && $0 == UInt8(ascii: "/")) }) {
            bytes += text.utf8
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "/") where escapingSlashes: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "/")]
            case 0x08: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                bytes += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                          hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)
}

/// A value being encoded. Objects and arrays are references so that containers handed out earlier keep writing
/// into them; a super-encoder's value is read when the tree is written.
private enum EncodedValue {
    case string(String)
    case number(String)
    case bool(Bool)
    case null
    case object(ObjectBox)
    case array(ArrayBox)
    case deferred(TreeEncoder)

    /// `value` as a tree, or nil when it encoded nothing.
    static func wrap(_ value: some Encodable, at path: [any CodingKey]) throws -> EncodedValue? {
        switch value {
        case let text as String: return .string(text)
        case let flag as Bool: return .bool(flag)
        case let number as Double: return try double(number, at: path)
        case let number as Float: return try float(number, at: path)
        case let number as Int: return .number(String(number))
        case let number as Int64: return .number(String(number))
        case let number as Int32: return .number(String(number))
        case let number as UInt64: return .number(String(number))
        case let number as UInt: return .number(String(number))
        case let number as UInt32: return .number(String(number))
        case let number as Int16: return .number(String(number))
        case let number as Int8: return .number(String(number))
        case let number as UInt16: return .number(String(number))
        case let number as UInt8: return .number(String(number))
        default:
            let encoder = TreeEncoder(codingPath: path)
            try value.encode(to: encoder)
            return encoder.storage
        }
    }

    static func double(_ number: Double, at path: [any CodingKey]) throws -> EncodedValue {
        guard number.isFinite else {
            throw EncodingError.invalidValue(number, .init(codingPath: path, debugDescription: "JSON has no \(number)"))
        }
        return .number(trimmed(number.description))
    }

    static func float(_ number: Float, at path: [any CodingKey]) throws -> EncodedValue {
        guard number.isFinite else {
            throw EncodingError.invalidValue(number, .init(codingPath: path, debugDescription: "JSON has no \(number)"))
        }
        return .number(trimmed(number.description))
    }

    private static func trimmed(_ text: String) -> String {
        text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }
}

private final class ObjectBox {
    var members: [String: EncodedValue] = [:]
}

private final class ArrayBox {
    var items: [EncodedValue] = []
}

private final class TreeEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var storage: EncodedValue?

    init(codingPath: [any CodingKey]) {
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let box: ObjectBox
        if case .object(let existing) = storage {
            box = existing
        } else {
            box = ObjectBox()
            storage = .object(box)
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let box: ArrayBox
        if case .array(let existing) = storage {
            box = existing
        } else {
            box = ArrayBox()
            storage = .array(box)
        }
        return UnkeyedContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(encoder: self)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: ObjectBox
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws {
        box.members[key.stringValue] = .null
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        box.members[key.stringValue] = try EncodedValue.wrap(value, at: codingPath + [key]) ?? .object(ObjectBox())
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                        forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested: ObjectBox
        if case .object(let existing) = box.members[key.stringValue] {
            nested = existing
        } else {
            nested = ObjectBox()
            box.members[key.stringValue] = .object(nested)
        }
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested: ArrayBox
        if case .array(let existing) = box.members[key.stringValue] {
            nested = existing
        } else {
            nested = ArrayBox()
            box.members[key.stringValue] = .array(nested)
        }
        return UnkeyedContainer(box: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        superEncoder(named: AnyKey(stringValue: "super"))
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        superEncoder(named: key)
    }

    private func superEncoder(named key: any CodingKey) -> any Encoder {
        let encoder = TreeEncoder(codingPath: codingPath + [key])
        box.members[key.stringValue] = .deferred(encoder)
        return encoder
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let box: ArrayBox
    let codingPath: [any CodingKey]
    var count: Int { box.items.count }

    private var nextKey: AnyKey { AnyKey(intValue: box.items.count) }

    mutating func encodeNil() throws {
        box.items.append(.null)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        box.items.append(try EncodedValue.wrap(value, at: codingPath + [nextKey]) ?? .object(ObjectBox()))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectBox()
        let path = codingPath + [nextKey]
        box.items.append(.object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        let path = codingPath + [nextKey]
        box.items.append(.array(nested))
        return UnkeyedContainer(box: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = TreeEncoder(codingPath: codingPath + [nextKey])
        box.items.append(.deferred(encoder))
        return encoder
    }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let encoder: TreeEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws {
        encoder.storage = .null
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        encoder.storage = try EncodedValue.wrap(value, at: codingPath) ?? .object(ObjectBox())
    }
}

/// A key made up for a path: an array index or `super`.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
    }

    init(intValue: Int) {
        self.stringValue = "Index \(intValue)"
        self.intValue = intValue
    }
}

/// Writes a tree as compact JSON.
private struct Writer {
    let escapingSlashes: Bool
    var bytes: [UInt8] = []

    init(escapingSlashes: Bool) {
        self.escapingSlashes = escapingSlashes
    }

    mutating func write(_ value: EncodedValue) {
        switch value {
        case .string(let text): string(text)
        case .number(let text): bytes += text.utf8
        case .bool(let flag): bytes += (flag ? "true" : "false").utf8
        case .null: bytes += "null".utf8
        case .deferred(let encoder): write(encoder.storage ?? .object(ObjectBox()))
        case .array(let box):
            bytes.append(UInt8(ascii: "["))
            for (index, item) in box.items.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let box):
            bytes.append(UInt8(ascii: "{"))
            for (index, member) in box.members.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                string(member.key)
                bytes.append(UInt8(ascii: ":"))
                write(member.value)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    private mutating func string(_ text: String) {
        JSONEncoding.appendString(text, escapingSlashes: escapingSlashes, to: &bytes)
    }
}
