import ArgumentParser
import BLIP
import Foundation

/// `blip tokenize`: token ids as the tokenizer's call returns them.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Print the token ids of texts ([CLS] ... [SEP]).")

    @OptionGroup var modelOption: ModelOption<CaptionModel>

    @Flag(help: "One JSON object per line: {\"text\", \"ids\"}.")
    var json = false

    @Argument(help: "Texts to tokenize.")
    var texts: [String]

    func run() throws {
        try reportingErrors {
            let tokenizer = try BertTokenizer(directory: modelOption.url)
            for text in texts {
                let ids = tokenizer.encode(text)
                if json {
                    try printJSONLine(["text": text, "ids": ids])
                } else {
                    print(ids.map(String.init).joined(separator: " "))
                }
            }
        }
    }
}
