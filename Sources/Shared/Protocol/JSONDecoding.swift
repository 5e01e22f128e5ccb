/// JSON to Codable with the standard library alone, reading what `JSONDecoder` read from our peers: the bytes go
/// through the strict ``JSONValue`` parser (top level an object or an array, nesting at most
/// ``JSONValue/maxDepth``), then into the type. Failures are the `DecodingError` cases `JSONDecoder` threw:
/// `dataCorrupted` with an empty coding path for bytes that are not JSON, `keyNotFound`, `valueNotFound` for a
/// null, `typeMismatch`, and `dataCorrupted` at the field for a number that does not fit its type. An integer
/// decodes as a `Double`; a number with a fraction or exponent decodes as an integer type when it is exactly one
/// (`1.0`, `1e3`); of a key given twice, the first is kept.
public enum JSONDecoding {
    /// The value of type `type` that `bytes` hold.
    ///
    /// - Throws: `DecodingError`, or whatever the type's own `init(from:)` throws.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        guard let tree = JSONValue.parse(bytes) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not valid JSON"))
        }
        return try decode(type, from: tree)
    }

    /// The value of type `type` that an already parsed tree holds.
    ///
    /// - Throws: as ``decode(_:from:)-([UInt8])``.
    package static func decode<T: Decodable>(_ type: T.Type, from tree: JSONValue) throws -> T {
        try TreeDecoder(value: tree, codingPath: []).unbox(tree, as: type, at: [])
    }

    /// The `T` a JSON number spelled `text` decodes as: exactly, or as the `Double` it spells when that is a whole
    /// number in range (`1.0`, `1e3`); nil when it does not fit (negative for an unsigned type, a fraction, too
    /// large). The one reading of integers, for the decoder and for types that map a tree by hand.
    @inlinable
    package static func integer<T: FixedWidthInteger>(_ type: T.Type, spelled text: String) -> T? {
        if let exact = T(text) { return exact }
        if let double = Double(text), let exact = T(exactly: double) { return exact }
        return nil
    }
}

private struct TreeDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        switch value {
        case .object(let members):
            var unique: [String: JSONValue] = [:]
            for member in members where unique[member.key] == nil { unique[member.key] = member.value }
            return KeyedDecodingContainer(KeyedContainer<Key>(members: unique, codingPath: codingPath))
        default:
            throw Self.mismatch([String: Any].self, value, codingPath)
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch value {
        case .array(let items):
            return UnkeyedContainer(items: items, codingPath: codingPath)
        default:
            throw Self.mismatch([Any].self, value, codingPath)
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(decoder: self)
    }

    /// `value`, at `path`, as a `T`.
    func unbox<T: Decodable>(_ value: JSONValue, as type: T.Type, at path: [any CodingKey]) throws -> T {
        switch T.self {
        case is String.Type:
            guard case .string(let text) = value else { throw Self.mismatch(T.self, value, path) }
            return text as! T
        case is Bool.Type:
            guard case .bool(let flag) = value else { throw Self.mismatch(T.self, value, path) }
            return flag as! T
        case is Double.Type:
            return try Self.floating(Double.self, value, path) as! T
        case is Float.Type:
            return try Self.floating(Float.self, value, path) as! T
        case is Int.Type: return try Self.integer(Int.self, value, path) as! T
        case is Int64.Type: return try Self.integer(Int64.self, value, path) as! T
        case is Int32.Type: return try Self.integer(Int32.self, value, path) as! T
        case is Int16.Type: return try Self.integer(Int16.self, value, path) as! T
        case is Int8.Type: return try Self.integer(Int8.self, value, path) as! T
        case is UInt.Type: return try Self.integer(UInt.self, value, path) as! T
        case is UInt64.Type: return try Self.integer(UInt64.self, value, path) as! T
        case is UInt32.Type: return try Self.integer(UInt32.self, value, path) as! T
        case is UInt16.Type: return try Self.integer(UInt16.self, value, path) as! T
        case is UInt8.Type: return try Self.integer(UInt8.self, value, path) as! T
        default:
            return try T(from: TreeDecoder(value: value, codingPath: path))
        }
    }

    private static func integer<T: FixedWidthInteger>(_ type: T.Type, _ value: JSONValue,
                                                      _ path: [any CodingKey]) throws -> T {
        guard case .number(let text) = value else { throw mismatch(T.self, value, path) }
        guard let exact = JSONDecoding.integer(T.self, spelled: text) else { throw tooBig(text, T.self, path) }
        return exact
    }

    private static func floating<T: BinaryFloatingPoint & LosslessStringConvertible>(
        _ type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> T {
        guard case .number(let text) = value else { throw mismatch(T.self, value, path) }
        guard let number = T(text), number.isFinite else {
            throw tooBig(text, T.self, path)
        }
        return number
    }

    /// The error for `value` where a `type` was expected: `valueNotFound` for a null, else `typeMismatch`.
    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        if case .null = value {
            return DecodingError.valueNotFound(type, .init(
                codingPath: path, debugDescription: "Cannot get value of type \(type) -- found null value instead"))
        }
        let found = switch value {
        case .string: "a string"
        case .number: "number"
        case .bool: "bool"
        case .null: "null"
        case .array: "an array"
        case .object: "a dictionary"
        }
        return DecodingError.typeMismatch(type, .init(codingPath: path,
                                                      debugDescription: "expected \(type), found \(found)"))
    }

    private static func tooBig(_ text: String, _ type: Any.Type, _ path: [any CodingKey]) -> DecodingError {
        DecodingError.dataCorrupted(.init(codingPath: path,
                                          debugDescription: "the number \(text) does not fit in \(type)"))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(
                codingPath: codingPath,
                debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\")."))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try member(key) { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let path = codingPath + [key]
        let value = try member(key)
        return try TreeDecoder(value: value, codingPath: path).unbox(value, as: type, at: path)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type,
                                               forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try TreeDecoder(value: try member(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try TreeDecoder(value: try member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        let key = AnyKey(stringValue: "super")
        return TreeDecoder(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        TreeDecoder(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(items: [JSONValue], codingPath: [any CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private var key: AnyKey { AnyKey(intValue: currentIndex) }

    private func next(_ type: Any.Type) throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [key],
                                                          debugDescription: "Unkeyed container is at end."))
        }
        return items[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard case .null = try next(Never.self) else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let path = codingPath + [key]
        let value = try next(type)
        let decoded = try TreeDecoder(value: value, codingPath: path).unbox(value, as: type, at: path)
        currentIndex += 1
        return decoded
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type)
        throws -> KeyedDecodingContainer<NestedKey> {
        let container = try TreeDecoder(value: try next(type), codingPath: codingPath + [key]).container(keyedBy: type)
        currentIndex += 1
        return container
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let container = try TreeDecoder(value: try next([Any].self), codingPath: codingPath + [key]).unkeyedContainer()
        currentIndex += 1
        return container
    }

    mutating func superDecoder() throws -> any Decoder {
        let decoder = TreeDecoder(value: try next(Any.self), codingPath: codingPath + [key])
        currentIndex += 1
        return decoder
    }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let decoder: TreeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool {
        if case .null = decoder.value { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try decoder.unbox(decoder.value, as: type, at: codingPath)
    }
}
