/// The version of this package (`blip --version`, the server's `GET /info`).
public let swiftBLIPVersion = "0.2.0"
