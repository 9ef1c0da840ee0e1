import ArgumentParser
import BLIP
import Foundation

@main
struct BlipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blip",
        abstract: "BLIP vision-language models in Swift: captions, visual question answering, image-text matching, retrieval, serving.",
        version: blipVersion,
        subcommands: [CaptionCommand.self, VQACommand.self, MatchCommand.self, EmbedCommand.self, IndexCommand.self,
                      CapFiltCommand.self, EvalCommand.self, TokenizeCommand.self, PreprocessCommand.self, DumpCommand.self, BenchCommand.self, ServeCommand.self,
                      DownloadCommand.self, ModelsCommand.self, ConvertCommand.self, NLVRCommand.self, GroundCommand.self])
}
