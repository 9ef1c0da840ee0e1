import BLIPIndex
import Foundation

/// The model behind `blip index`. PLACEHOLDER until `BlipImageTextMatcher` (BLIP/Retrieval) is on this
/// branch: then delete this file and rename `IndexEmbedderAdapter.swift.pending` to
/// `IndexEmbedderAdapter.swift`, which defines the real `makeIndexModel` (and drop its `exclude` entry in
/// Package.swift).
func makeIndexModel(modelDirectory: URL, itmMode: IndexITMMode) throws -> any ImageTextRetrievalModel {
    throw IndexModelUnavailable()
}

struct IndexModelUnavailable: Error, LocalizedError {
    var errorDescription: String? {
        "this build of blip has no image-text matching model (BlipImageTextMatcher); `blip index add/search` are unavailable"
    }
}
