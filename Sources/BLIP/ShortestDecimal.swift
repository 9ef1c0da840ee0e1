extension Double {
    /// The Double whose shortest decimal form is the Float's (0.97, not 0.9700000286102295), so
    /// JSON output prints model scores as they are computed (in Float).
    public init(shortest value: Float) {
        self = Double("\(value)") ?? Double(value)
    }
}
