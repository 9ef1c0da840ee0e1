import ArgumentParser
import BLIP
import Foundation

@main
struct BlipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blip",
        abstract: "BLIP vision-language models (captioning) in Swift.",
        subcommands: [CaptionCommand.self, TokenizeCommand.self, PreprocessCommand.self, DumpCommand.self, BenchCommand.self,
                      IndexCommand.self])
}
