import BLIP
import Foundation
import Hummingbird

extension BlipServer {
    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: webPageHTML)))
        }
        router.get("/health") { _, _ in jsonResponse(["status": "ok"]) }
        router.get("/info") { [self] _, _ in jsonResponse(info()) }
        router.get("/metrics") { [self] _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.prometheusText() + resourceMetricsText())))
        }
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: openAPISpec)))
        }
        router.post("/api/v1/inference/blip") { [self] request, _ in try await guarded(request) { try await inference($0) } }
        router.post("/caption") { [self] request, _ in try await guarded(request) { try await captionUpload($0) } }
        router.post("/vqa") { [self] request, _ in try await guarded(request) { try await vqaUpload($0) } }
        router.post("/match") { [self] request, _ in try await guarded(request) { try await match($0) } }
        router.post("/embed") { [self] request, _ in try await guarded(request) { try await embed($0) } }
        router.post("/search") { [self] request, _ in try await guarded(request) { try await search($0) } }
        router.get("/thumbnail") { [self] request, _ in try await guarded(request) { try await thumbnail($0) } }
        router.post("/") { [self] request, _ in try await guarded(request) { try await hosted($0) } }
    }

    func info() -> [String: Any] {
        let limitsObject = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(limits))) ?? [:]
        return ["name": "blip-serve", "version": blipServerVersion, "models": modelDescriptions, "limits": limitsObject,
                "usage": usage()]
    }

    // MARK: Bodies

    /// The request body, at most `maxBodyBytes` (413 beyond; checked on Content-Length first).
    func readBody(_ request: Request) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limits.maxBodyBytes {
            throw APIError.tooLarge(limits.maxBodyBytes)
        }
        do {
            return try await request.body.collect(upTo: limits.maxBodyBytes)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.tooLarge(limits.maxBodyBytes)
        }
    }

    func readForm(_ request: Request) async throws -> MultipartForm {
        guard let contentType = request.headers[.contentType] else {
            throw APIError.badRequest("expected a multipart/form-data body", type: "invalid_multipart")
        }
        guard let boundary = MultipartParser.boundary(contentType: contentType) else {
            throw APIError.badRequest("expected Content-Type multipart/form-data with a boundary, got \(contentType.prefix(80))", type: "invalid_multipart")
        }
        let body = try await readBody(request)
        return MultipartForm(parts: try MultipartParser.parse(Array(body.readableBytesView), boundary: boundary))
    }

    func isMultipart(_ request: Request) -> Bool {
        request.headers[.contentType]?.lowercased().hasPrefix("multipart/") ?? false
    }

    func decodeImage(base64: String, field: String) async throws -> RGBImage {
        try await decodeWithinBudget(decodeBase64Image(base64, field: field), source: field)
    }

    func decodeImage(form: MultipartForm) async throws -> RGBImage {
        guard let part = form.files["file"] ?? form.files["image"] else {
            throw APIError.unprocessable("missing form field \"file\" (the image)", type: "missing_field")
        }
        return try await decodeWithinBudget(Data(part.body), source: part.filename ?? "file")
    }

    // MARK: Handlers

    func inference(_ request: Request) async throws -> Response {
        let body = try await readBody(request)
        let started = ContinuousClock.now
        let payload = try decodeJSONBody(InferenceRequest.self, from: body)
        let parameters = payload.parameters
        let stream = payload.stream ?? false
        try checkModes(question: payload.question, candidates: payload.candidates, stream: stream, parameters: parameters)
        try requireModel(payload.question == nil ? .caption : .vqa)
        let image = try await decodeImage(base64: payload.image, field: "image")
        if let question = payload.question {
            let q = try checkText(question, field: "question", limits: limits)
            if let candidates = payload.candidates {
                return try await rankedAnswers(image, question: q, candidates: candidates, k: payload.k, started: started)
            }
            if stream { return try streamedAnswer(image, question: q, parameters: parameters, started: started) }
            let answer = try await answers(QuestionJob(image: image, questions: [q]), parameters: parameters)[0]
            return jsonResponse(["answer": answer, "inference_time_ms": milliseconds(since: started)])
        }
        let prompt = try payload.prompt.map { try checkText($0, field: "prompt", limits: limits) }
        if stream { return try streamedCaption(image, prompt: prompt, parameters: parameters, started: started) }
        let captions = try await captionSequences(image, prompt: prompt, parameters: parameters)
        return captionResponse(captions, parameters: parameters, started: started)
    }

    /// Refuses option combinations that cannot work, before any image work.
    func checkModes(question: String?, candidates: [String]?, stream: Bool, parameters: GenerationParameters) throws {
        if candidates != nil && question == nil {
            throw APIError.unprocessable("candidates rank answers to a question: give \"question\" too", type: "missing_field")
        }
        if candidates != nil && stream {
            throw APIError.unprocessable("rank mode (candidates) does not stream: leave out \"stream\"", type: "invalid_parameter")
        }
        if stream, let n = parameters.numReturnSequences, n > 1 {
            throw APIError.unprocessable("a stream carries one sequence: leave out num_return_sequences", type: "invalid_parameter")
        }
    }

    /// `{"caption", "inference_time_ms"}`, plus `"captions"` (best first) when
    /// `num_return_sequences` was given.
    func captionResponse(_ captions: [String], parameters: GenerationParameters, started: ContinuousClock.Instant) -> Response {
        var body: [String: Any] = ["caption": captions.first ?? "", "inference_time_ms": milliseconds(since: started)]
        if parameters.numReturnSequences != nil { body["captions"] = captions }
        return jsonResponse(body)
    }

    func captionUpload(_ request: Request) async throws -> Response {
        let form = try await readForm(request)
        let started = ContinuousClock.now
        let parameters = try GenerationParameters.fromForm(form.fields)
        let prompt = try form.fields["prompt"].flatMap { $0.isEmpty ? nil : try checkText($0, field: "prompt", limits: limits) }
        let stream = try GenerationParameters.formBool(form.fields, "stream") ?? false
        try checkModes(question: nil, candidates: nil, stream: stream, parameters: parameters)
        try requireModel(.caption)
        let image = try await decodeImage(form: form)
        if stream { return try streamedCaption(image, prompt: prompt, parameters: parameters, started: started) }
        let captions = try await captionSequences(image, prompt: prompt, parameters: parameters)
        return captionResponse(captions, parameters: parameters, started: started)
    }

    func vqaUpload(_ request: Request) async throws -> Response {
        let form = try await readForm(request)
        let started = ContinuousClock.now
        let parameters = try GenerationParameters.fromForm(form.fields)
        guard let question = form.fields["question"] else {
            throw APIError.unprocessable("missing form field \"question\"", type: "missing_field")
        }
        let q = try checkText(question, field: "question", limits: limits)
        let stream = try GenerationParameters.formBool(form.fields, "stream") ?? false
        let candidates = form.repeated["candidates"]
        try checkModes(question: q, candidates: candidates, stream: stream, parameters: parameters)
        try requireModel(.vqa)
        let image = try await decodeImage(form: form)
        if let candidates {
            let k = try form.fields["k"].map { s in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else {
                    throw APIError.unprocessable("k must be an integer, got \"\(s.prefix(40))\"", type: "invalid_parameter")
                }
                return v
            }
            return try await rankedAnswers(image, question: q, candidates: candidates, k: k, started: started)
        }
        if stream { return try streamedAnswer(image, question: q, parameters: parameters, started: started) }
        let answer = try await answers(QuestionJob(image: image, questions: [q]), parameters: parameters)[0]
        return jsonResponse(["answer": answer, "question": q, "inference_time_ms": milliseconds(since: started)])
    }

    func match(_ request: Request) async throws -> Response {
        try requireModel(.itm)
        let image: RGBImage
        let texts: [String]
        let started: ContinuousClock.Instant
        if isMultipart(request) {
            let form = try await readForm(request)
            started = .now
            texts = (form.repeated["texts"] ?? []) + (form.repeated["text"] ?? [])
            try checkTexts(texts)
            image = try await decodeImage(form: form)
        } else {
            let body = try await readBody(request)
            started = .now
            let payload = try decodeJSONBody(MatchRequest.self, from: body)
            texts = payload.texts
            try checkTexts(texts)
            image = try await decodeImage(base64: payload.image, field: "image")
        }
        let cleaned = try texts.enumerated().map { try checkText($1, field: "texts[\($0)]", limits: limits) }
        let scores = try await scores(MatchJob(image: image, texts: cleaned))
        let matches: [[String: Any]] = zip(cleaned, scores).map {
            ["text": $0, "itm_probability": $1.itmProbability, "itc_cosine": $1.itcCosine]
        }
        return jsonResponse(["matches": matches, "inference_time_ms": milliseconds(since: started)])
    }

    /// `POST /embed`: the unit ITC embedding of one image (base64 `image`) or one `text`, as
    /// `blip embed` prints it; the dot product of an image's and a text's is their ITC cosine.
    /// An image's embedding holds `vectors` unit vectors (1 for BLIP; 32 for BLIP-2, whose ITC
    /// score is the best of their dot products with the text's).
    func embed(_ request: Request) async throws -> Response {
        try requireModel(.itm)
        guard let thread = matchThread, let service = services.match else {
            throw APIError.modelNotLoaded("image-text matching", option: "--itm-model")
        }
        let body = try await readBody(request)
        let started = ContinuousClock.now
        let payload = try decodeJSONBody(EmbedRequest.self, from: body)
        let embedding: [Float]
        var vectors = 1
        switch (payload.image, payload.text) {
        case let (image?, nil):
            let decoded = try await decodeImage(base64: image, field: "image")
            embedding = try await thread.run { try service.embeddings(images: [decoded]) }.first ?? []
            vectors = service.vectorsPerImage
        case let (nil, text?):
            let cleaned = try checkText(text, field: "text", limits: limits)
            embedding = try await thread.run { try service.embeddings(texts: [cleaned]) }.first ?? []
        default:
            throw APIError.unprocessable("give exactly one of \"image\" (base64) or \"text\"", type: "missing_field")
        }
        return jsonResponse(["embedding": embedding.map { Double(shortest: $0) }, "dimensions": embedding.count,
                             "vectors": vectors, "inference_time_ms": milliseconds(since: started)])
    }

    /// A body that is the image itself (`image/*` or `application/octet-stream`), as the Hugging
    /// Face Inference API takes it.
    func isRawImage(_ request: Request) -> Bool {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        return type.hasPrefix("image/") || type.hasPrefix("application/octet-stream")
    }

    /// The Hugging Face Inference API's image-to-text answer: `[{"generated_text": caption}]`.
    func rawImageCaption(_ body: ByteBuffer) async throws -> Response {
        try requireModel(.caption)
        let image = try await decodeWithinBudget(Data(body.readableBytesView), source: "request body")
        let caption = try await caption(image, prompt: nil, parameters: GenerationParameters())
        return jsonResponse([["generated_text": caption]])
    }

    enum ModelTask { case caption, vqa, itm }

    /// 404 when the model a request needs is not loaded (checked before any image work).
    func requireModel(_ task: ModelTask) throws {
        switch task {
        case .caption: if services.caption == nil { throw APIError.modelNotLoaded("captioning", option: "--caption-model") }
        case .vqa: if services.questionAnswering == nil { throw APIError.modelNotLoaded("question answering", option: "--vqa-model") }
        case .itm: if services.match == nil { throw APIError.modelNotLoaded("image-text matching", option: "--itm-model") }
        }
    }

    private func checkTexts(_ texts: [String]) throws {
        if texts.isEmpty { throw APIError.unprocessable("give at least one text to match", type: "missing_field") }
        if texts.count > limits.maxTextsPerRequest {
            throw APIError.unprocessable("at most \(limits.maxTextsPerRequest) texts per request", type: "too_many_texts")
        }
    }

    func hosted(_ request: Request) async throws -> Response {
        let body = try await readBody(request)
        if isRawImage(request) { return try await rawImageCaption(body) }
        let started = ContinuousClock.now
        let payload = try decodeJSONBody(HostedRequest.self, from: body)
        let images = payload.inputs.images
        if images.isEmpty { throw APIError.unprocessable("inputs.images is empty", type: "missing_field") }
        if images.count > limits.maxImagesPerRequest {
            throw APIError.unprocessable("at most \(limits.maxImagesPerRequest) images per request", type: "too_many_images")
        }
        // One question list per image; a single list applies to every image; none: captions.
        let texts = payload.inputs.texts ?? []
        let questionLists: [[String]]
        switch texts.count {
        case 0: questionLists = Array(repeating: [], count: images.count)
        case 1: questionLists = Array(repeating: texts[0], count: images.count)
        case images.count: questionLists = texts
        default:
            throw APIError.unprocessable("inputs.texts has \(texts.count) lists for \(images.count) images (give one list per image, or one for all)", type: "invalid_field")
        }
        if questionLists.reduce(0, { $0 + $1.count }) > limits.maxTextsPerRequest {
            throw APIError.unprocessable("at most \(limits.maxTextsPerRequest) questions per request", type: "too_many_texts")
        }
        let questions = try questionLists.enumerated().map { i, list in
            try list.enumerated().map { j, q in try checkText(q, field: "inputs.texts[\(i)][\(j)]", limits: limits) }
        }
        let parameters = payload.parameters ?? GenerationParameters()
        if questions.contains(where: \.isEmpty) { try requireModel(.caption) }
        if questions.contains(where: { !$0.isEmpty }) { try requireModel(.vqa) }
        // Fetch and decode every image first (so a bad image fails before any model work); each
        // decode reserves its pixels from the global budget first (503/413 when it cannot).
        var decoded: [RGBImage] = []
        for (i, image) in images.enumerated() {
            let field = "inputs.images[\(i)]"
            if let b64 = image.b64 {
                decoded.append(try await decodeImage(base64: b64, field: "\(field).b64"))
            } else if let url = image.url {
                guard limits.allowRemoteImages else {
                    throw APIError.unprocessable("\(field).url: remote images are disabled (start the server with --allow-remote-images)", type: "remote_images_disabled")
                }
                decoded.append(try await decodeWithinBudget(try await remoteImageFetcher().fetch(url), source: "\(field).url"))
            } else {
                throw APIError.unprocessable("\(field) needs \"b64\" or \"url\"", type: "missing_field")
            }
        }
        // All images at once, so they can share batches.
        let results = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for (i, image) in decoded.enumerated() {
                let list = questions[i]
                group.addTask {
                    if list.isEmpty { return (i, [try await self.caption(image, prompt: nil, parameters: parameters)]) }
                    return (i, try await self.answers(QuestionJob(image: image, questions: list), parameters: parameters))
                }
            }
            var out = Array(repeating: [String](), count: decoded.count)
            for try await (i, r) in group { out[i] = r }
            return out
        }
        return jsonResponse([
            "captions": results.map { ["image_results": $0] },
            "inference_time_ms": milliseconds(since: started),
        ])
    }
}

/// Milliseconds since `start`, rounded to 0.1 ms.
func milliseconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) * 1e-15
    return (ms * 10).rounded() / 10
}
