import BLIP
import Foundation

// Stand-ins until BlipQuestionAnswerer and BlipImageTextMatcher are in the BLIP library: delete
// this file and rename VQAService.swift.pending / MatchService.swift.pending to .swift (they
// define the same two functions with the real adapters).

func makeQuestionAnsweringService(modelDirectory: URL) throws -> any QuestionAnsweringService {
    throw ServerConfigurationError(message: "visual question answering is not available in this build yet")
}

func makeMatchService(modelDirectory: URL) throws -> any MatchService {
    throw ServerConfigurationError(message: "image-text matching is not available in this build yet")
}
