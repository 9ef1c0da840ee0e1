import ArgumentParser
import BLIP
import Foundation

@main
struct BlipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blip",
        abstract: "BLIP vision-language models (captioning) in Swift.",
        subcommands: [CaptionCommand.self, VQACommand.self, MatchCommand.self, EmbedCommand.self, IndexCommand.self,
                      TokenizeCommand.self, PreprocessCommand.self, DumpCommand.self, BenchCommand.self, ServeCommand.self])
}
