import BLIP
import Foundation
import FuzzSupport

// Fuzzes the tokenizer (Sources/BLIP/Tokenizer). The first byte picks what the rest of the input is:
//   0, 1 (mod 4): text for the bert-base-uncased + BLIP tokenizer of Tests/BLIPTests/Fixtures/tokenizer
//                 (tokenize, encode with and without truncation, batch encode, decode of the ids and of
//                 arbitrary ids read from the input, with and without special tokens);
//   2: a `tokenizer.json` (BertTokenizer(tokenizerJSON:)), then a short encode/decode;
//   3: a `tokenizer_config.json` or (odd second byte) a `special_tokens_map.json` next to a small
//      vocab.txt (BertTokenizer(directory:)), then a short encode/decode.

let fixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Tests/BLIPTests/Fixtures/tokenizer")
let tokenizer: BertTokenizer = {
    do {
        return try BertTokenizer(directory: fixtures)
    } catch {
        fatalError("FuzzTokenizer: cannot load the fixture tokenizer in \(fixtures.path): \(error)")
    }
}()

let scratch = ScratchFolder("FuzzTokenizer")
let jsonFolder = scratch.folder("json")
/// Holds a small vocab.txt; each input writes its tokenizer_config.json or special_tokens_map.json next to it.
let configFolder: URL = {
    let folder = scratch.folder("config")
    scratch.write(Data(("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nphoto\nof\n##s\ncat\n,\n.\n!\n'\n" +
                        "the\n##ing\nhello\nworld\n[unused0]\n").utf8), to: "vocab.txt", in: folder)
    return folder
}()

func check(_ t: BertTokenizer, _ text: String, maxLength: Int?) {
    let ids = t.encode(text, maxLength: maxLength)
    if let maxLength, maxLength >= 2, ids.count > maxLength {
        fatalError("encode gave \(ids.count) ids for maxLength \(maxLength)")
    }
    if ids.first != t.clsTokenId || ids.last != t.sepTokenId { fatalError("encode lost [CLS]/[SEP]: \(ids)") }
    for id in ids where t.token(for: id) == nil { fatalError("encode gave id \(id) outside the vocabulary") }
    _ = t.decode(ids)
    _ = t.decode(ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: true)
    let batch = t.encodeBatch([text, "a photo of"], maxLength: maxLength, padToLength: 4)
    if batch.inputIds.count != 2 || batch.attentionMask.count != 2
        || batch.inputIds.map(\.count) != batch.attentionMask.map(\.count) {
        fatalError("encodeBatch rows and masks disagree")
    }
}

// libFuzzer's entry point in fuzzing builds; a plain function otherwise, so that test bundles linking several
// harnesses (FuzzHarnessTests) do not see the symbol twice.
#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
#endif
public func fuzzTokenizer(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = fuzzData(bytes, count)
    guard let mode = data.first else { return 0 }
    let rest = data.dropFirst()
    switch mode % 4 {
    case 0, 1:
        let text = String(decoding: rest, as: UTF8.self)
        _ = tokenizer.tokenize(text)
        check(tokenizer, text, maxLength: nil)
        check(tokenizer, text, maxLength: 2 + Int(mode / 4) % 30)
        // Arbitrary ids, negative and out of range included: ignored by decode, never a trap.
        var ids: [Int] = []
        var i = rest.startIndex
        while i + 1 < rest.endIndex {
            ids.append(Int(Int16(bitPattern: UInt16(rest[i]) | UInt16(rest[i + 1]) << 8)) * (mode & 1 == 0 ? 1 : 3))
            i += 2
        }
        _ = tokenizer.decode(ids, skipSpecialTokens: mode & 2 == 0)
        _ = BertTokenizer.cleanUpTokenization(text)
    case 2:
        let url = scratch.write(Data(rest), to: "tokenizer.json", in: jsonFolder)
        guard let t = try? BertTokenizer(tokenizerJSON: url) else { return 0 }
        check(t, "Hello, [ENC] world! a photo of cats 日本", maxLength: 6)
    default:
        let isMap = rest.first.map { $0 & 1 == 1 } ?? false
        scratch.remove(isMap ? "tokenizer_config.json" : "special_tokens_map.json", in: configFolder)
        scratch.write(Data(rest.dropFirst()), to: isMap ? "special_tokens_map.json" : "tokenizer_config.json",
                      in: configFolder)
        guard let t = try? BertTokenizer(directory: configFolder) else { return 0 }
        check(t, "hello [MASK] world, a photo of cats!", maxLength: 5)
    }
    return 0
}

@main enum FuzzTokenizer {
    static func main() { FuzzDriver.run(fuzzTokenizer) }
}
