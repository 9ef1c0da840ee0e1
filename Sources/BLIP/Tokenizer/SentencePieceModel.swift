import Foundation

/// The parts of a SentencePiece `ModelProto` (spiece.model) a Unigram tokenizer uses, read with a small
/// bounds-checked protobuf wire-format reader (no generated code). Unknown fields are skipped.
///
/// Field numbers follow sentencepiece_model.proto: `pieces` 1 (`piece` 1, `score` 2, `type` 3),
/// `trainer_spec` 2 (`model_type` 3, `vocab_size` 4, `byte_fallback` 35, `unk_id` 40, `bos_id` 41,
/// `eos_id` 42, `pad_id` 43, `unk_piece` 45 … `pad_piece` 48), `normalizer_spec` 3 (`name` 1,
/// `precompiled_charsmap` 2, `add_dummy_prefix` 3, `remove_extra_whitespaces` 4, `escape_whitespaces` 5).
public struct SentencePieceModel: Sendable {
    /// A piece's type (`ModelProto.SentencePiece.Type`).
    public enum PieceType: Int, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// One vocabulary entry: its text (with "▁" for spaces), log-probability score and type.
    public struct Piece: Sendable, Equatable {
        public var piece: String
        public var score: Float
        public var type: PieceType
    }

    /// The model algorithm (`TrainerSpec.ModelType`).
    public enum ModelType: Int, Sendable {
        case unigram = 1, bpe = 2, word = 3, char = 4
    }

    /// The vocabulary in id order.
    public var pieces: [Piece] = []
    /// `trainer_spec` fields, with the proto's defaults.
    public var modelType = ModelType.unigram
    public var vocabSize: Int32 = 8000
    public var byteFallback = false
    public var unkId: Int32 = 0, bosId: Int32 = 1, eosId: Int32 = 2, padId: Int32 = -1
    public var unkPiece = "<unk>", bosPiece = "<s>", eosPiece = "</s>", padPiece = "<pad>"
    /// `normalizer_spec` fields, with the proto's defaults.
    public var normalizerName = ""
    public var precompiledCharsmap: [UInt8] = []
    public var addDummyPrefix = true
    public var removeExtraWhitespaces = true
    public var escapeWhitespaces = true

    /// Reads spiece.model; errors name `url`.
    public init(contentsOf url: URL) throws(UnigramTokenizerError) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? "\(error)" : "no such file"
            throw .unreadableFile(path: url.path, reason: reason)
        }
        try self.init(bytes: [UInt8](data), path: url.path)
    }

    /// Parses a serialised `ModelProto`; `path` names the source in errors.
    public init(bytes: [UInt8], path: String) throws(UnigramTokenizerError) {
        do {
            var reader = ProtobufReader(bytes, bytes.startIndex..<bytes.endIndex)
            while let (field, wire) = try reader.nextField() {
                switch (field, wire) {
                case (1, 2): pieces.append(try Self.piece(&reader, index: pieces.count))
                case (2, 2): try readTrainerSpec(reader.submessage())
                case (3, 2): try readNormalizerSpec(reader.submessage())
                case (1...3, _): throw ProtobufReader.Failure("field \(field) of ModelProto has wire type \(wire), expected 2")
                default: try reader.skip(wire)
                }
            }
        } catch let failure as ProtobufReader.Failure {
            throw .invalidModel(path: path, reason: "not a SentencePiece model (\(failure.reason))")
        } catch {
            throw .invalidModel(path: path, reason: "\(error)")
        }
        guard !pieces.isEmpty else { throw .invalidModel(path: path, reason: "the model has no pieces") }
    }

    private static func piece(_ outer: inout ProtobufReader, index: Int) throws -> Piece {
        var r = try outer.submessage()
        var result = Piece(piece: "", score: 0, type: .normal)
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, 2): result.piece = try r.string("piece \(index)")
            case (2, 5): result.score = Float(bitPattern: try r.fixed32())
            case (3, 0):
                let raw = try r.varint()
                guard let t = PieceType(rawValue: Int(truncatingIfNeeded: raw)) else {
                    throw ProtobufReader.Failure("piece \(index) has unknown type \(raw)")
                }
                result.type = t
            case (1...3, _): throw ProtobufReader.Failure("field \(field) of piece \(index) has wire type \(wire)")
            default: try r.skip(wire)
            }
        }
        return result
    }

    private mutating func readTrainerSpec(_ reader: ProtobufReader) throws {
        var r = reader
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (3, 0):
                let raw = try r.varint()
                guard let t = ModelType(rawValue: Int(truncatingIfNeeded: raw)) else {
                    throw ProtobufReader.Failure("trainer_spec.model_type \(raw) is not a known model type")
                }
                modelType = t
            case (4, 0): vocabSize = Int32(truncatingIfNeeded: try r.varint())
            case (35, 0): byteFallback = try r.varint() != 0
            case (40, 0): unkId = Int32(truncatingIfNeeded: try r.varint())
            case (41, 0): bosId = Int32(truncatingIfNeeded: try r.varint())
            case (42, 0): eosId = Int32(truncatingIfNeeded: try r.varint())
            case (43, 0): padId = Int32(truncatingIfNeeded: try r.varint())
            case (45, 2): unkPiece = try r.string("trainer_spec.unk_piece")
            case (46, 2): bosPiece = try r.string("trainer_spec.bos_piece")
            case (47, 2): eosPiece = try r.string("trainer_spec.eos_piece")
            case (48, 2): padPiece = try r.string("trainer_spec.pad_piece")
            default: try r.skip(wire)
            }
        }
    }

    private mutating func readNormalizerSpec(_ reader: ProtobufReader) throws {
        var r = reader
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, 2): normalizerName = try r.string("normalizer_spec.name")
            case (2, 2): precompiledCharsmap = Array(try r.byteSlice())
            case (3, 0): addDummyPrefix = try r.varint() != 0
            case (4, 0): removeExtraWhitespaces = try r.varint() != 0
            case (5, 0): escapeWhitespaces = try r.varint() != 0
            default: try r.skip(wire)
            }
        }
    }
}

/// Protobuf wire format over a byte range; every read is bounds-checked and throws on malformed input.
struct ProtobufReader {
    struct Failure: Error { let reason: String; init(_ r: String) { reason = r } }

    private let bytes: [UInt8]
    private var position: Int
    private let end: Int

    init(_ bytes: [UInt8], _ range: Range<Int>) {
        self.bytes = bytes
        position = range.lowerBound
        end = range.upperBound
    }

    /// The next field's number and wire type, or nil at the end.
    mutating func nextField() throws -> (Int, Int)? {
        guard position < end else { return nil }
        let at = position
        let key = try varint()
        let field = key >> 3
        guard field >= 1, field <= 536_870_911 else { throw Failure("bad field number \(field) at byte \(at)") }
        return (Int(field), Int(key & 7))
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw Failure("truncated varint at byte \(position)") }
            let b = bytes[position]
            position += 1
            guard shift < 64 else { throw Failure("varint longer than 10 bytes at byte \(position - 1)") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func fixed32() throws -> UInt32 {
        guard end - position >= 4 else { throw Failure("truncated fixed32 at byte \(position)") }
        let b = bytes
        let v = UInt32(b[position]) | UInt32(b[position + 1]) << 8 | UInt32(b[position + 2]) << 16 | UInt32(b[position + 3]) << 24
        position += 4
        return v
    }

    /// A length-delimited field's byte range.
    mutating func lengthDelimited() throws -> Range<Int> {
        let at = position
        let length = try varint()
        guard length <= UInt64(end - position) else {
            throw Failure("length \(length) at byte \(at) runs past the end (\(end - position) bytes left)")
        }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return range
    }

    mutating func byteSlice() throws -> ArraySlice<UInt8> { bytes[try lengthDelimited()] }

    mutating func string(_ what: String) throws -> String {
        guard let s = String(validating: try byteSlice(), as: UTF8.self) else { throw Failure("\(what) is not valid UTF-8") }
        return s
    }

    mutating func submessage() throws -> ProtobufReader { ProtobufReader(bytes, try lengthDelimited()) }

    mutating func skip(_ wire: Int) throws {
        switch wire {
        case 0: _ = try varint()
        case 1:
            guard end - position >= 8 else { throw Failure("truncated fixed64 at byte \(position)") }
            position += 8
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        default: throw Failure("unsupported wire type \(wire) at byte \(position)")
        }
    }
}
