import BLIP

/// The version `blip --version` prints.
let blipVersion = swiftBLIPVersion
