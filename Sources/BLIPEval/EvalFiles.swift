import Foundation

/// Readers of the standard evaluation files (COCO captions, VQAv2, Karpathy retrieval splits),
/// with errors naming the file and the record.
public enum EvalFiles {
    static func json(_ url: URL) throws -> Any {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw EvalError.invalid("\(url.path): cannot read the file")
        }
        do { return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            // JSON Lines: one object per line.
            var rows: [Any] = []
            for (n, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.allSatisfy({ $0 == 32 || $0 == 13 || $0 == 9 }) {
                guard let row = try? JSONSerialization.jsonObject(with: Data(line)) else {
                    throw EvalError.invalid("\(url.path): not JSON, nor JSON Lines (line \(n + 1) is not JSON)")
                }
                rows.append(row)
            }
            return rows
        }
    }

    /// An id as text (COCO ids are numbers, some datasets use strings).
    static func id(_ value: Any?) -> String? {
        switch value {
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        default: return nil
        }
    }

    /// COCO caption annotations (`{"annotations": [{"image_id", "caption"}, ...]}`, as
    /// coco_karpathy_test_gt.json): the references of each image, in file order.
    public static func captionReferences(_ url: URL) throws -> (references: [String: [String]], order: [String]) {
        guard let root = try json(url) as? [String: Any], let annotations = root["annotations"] as? [[String: Any]] else {
            throw EvalError.invalid("\(url.path): expected COCO caption annotations {\"annotations\": [{\"image_id\", \"caption\"}, ...]}")
        }
        var refs: [String: [String]] = [:], order: [String] = []
        for (i, a) in annotations.enumerated() {
            guard let image = id(a["image_id"]), let caption = a["caption"] as? String else {
                throw EvalError.invalid("\(url.path): annotation \(i) needs \"image_id\" and a \"caption\" string")
            }
            if refs[image] == nil { order.append(image) }
            refs[image, default: []].append(caption)
        }
        return (refs, order)
    }

    /// The images of COCO-format annotations (`"images": [{"id", "file_name"}]`).
    public static func captionImages(_ url: URL) throws -> [(id: String, file: String)] {
        guard let root = try json(url) as? [String: Any], let images = root["images"] as? [[String: Any]] else {
            throw EvalError.invalid("\(url.path): has no \"images\" list of {\"id\", \"file_name\"}: give the images with --split")
        }
        return try images.enumerated().map { i, image in
            guard let id = id(image["id"]), let file = image["file_name"] as? String else {
                throw EvalError.invalid("\(url.path): image \(i) needs \"id\" and \"file_name\"")
            }
            return (id, file)
        }
    }

    /// Generated captions: a JSON list or JSON Lines of `{"image_id", "caption"}`, or of
    /// `{"image": path, "caption"}` as `blip caption --json` prints them (the id is then the
    /// number ending the file name, as LAVIS derives COCO ids: COCO_val2014_000000391895.jpg →
    /// 391895; else the file name without extension). Records with an "error" are skipped and
    /// counted. One caption per image.
    public static func captionResults(_ url: URL) throws -> (captions: [String: String], order: [String], skipped: Int) {
        let rows: [Any]
        switch try json(url) {
        case let list as [Any]: rows = list
        case let object as [String: Any]: rows = [object]
        default: throw EvalError.invalid("\(url.path): expected a list of {\"image_id\", \"caption\"} records")
        }
        var captions: [String: String] = [:], order: [String] = [], skipped = 0
        for (i, row) in rows.enumerated() {
            guard let r = row as? [String: Any] else { throw EvalError.invalid("\(url.path): record \(i) is not an object") }
            if r["error"] != nil { skipped += 1; continue }
            guard let caption = r["caption"] as? String else { throw EvalError.invalid("\(url.path): record \(i) has no \"caption\" string") }
            guard let image = id(r["image_id"]) ?? (r["image"] as? String).map(imageId(fromPath:)) else {
                throw EvalError.invalid("\(url.path): record \(i) has no \"image_id\" (or \"image\" path)")
            }
            guard captions[image] == nil else { throw EvalError.invalid("\(url.path): image \(image) has more than one caption (record \(i))") }
            captions[image] = caption
            order.append(image)
        }
        return (captions, order, skipped)
    }

    /// The COCO id LAVIS derives from an image path: the number ending the file name (else the name).
    public static func imageId(fromPath path: String) -> String {
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let digits = stem.reversed().prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let n = Int(String(digits.reversed())) else { return stem }
        return String(n)
    }

    /// VQAv2 annotations (`{"annotations": [{"question_id", "question_type", "answer_type",
    /// "answers": [{"answer"}, ...]}]}`).
    public static func vqaGroundTruth(_ url: URL) throws -> [VQAGroundTruth] {
        guard let root = try json(url) as? [String: Any], let annotations = root["annotations"] as? [[String: Any]] else {
            throw EvalError.invalid("\(url.path): expected VQA annotations {\"annotations\": [...]}")
        }
        return try annotations.enumerated().map { i, a in
            guard let q = (a["question_id"] as? NSNumber)?.intValue, let answers = a["answers"] as? [[String: Any]] else {
                throw EvalError.invalid("\(url.path): annotation \(i) needs \"question_id\" and \"answers\"")
            }
            let texts = try answers.map { (x: [String: Any]) -> String in
                guard let s = x["answer"] as? String else { throw EvalError.invalid("\(url.path): question \(q) has an answer without text") }
                return s
            }
            guard !texts.isEmpty else { throw EvalError.invalid("\(url.path): question \(q) has no human answers") }
            return VQAGroundTruth(questionId: q, questionType: a["question_type"] as? String ?? "",
                                  answerType: a["answer_type"] as? String ?? "", answers: texts)
        }
    }

    /// The question ids of a VQAv2 questions file (`{"questions": [{"question_id", ...}]}`).
    public static func vqaQuestionIds(_ url: URL) throws -> Set<Int> {
        guard let root = try json(url) as? [String: Any], let questions = root["questions"] as? [[String: Any]] else {
            throw EvalError.invalid("\(url.path): expected VQA questions {\"questions\": [...]}")
        }
        return Set(questions.compactMap { ($0["question_id"] as? NSNumber)?.intValue })
    }

    /// The questions of a VQAv2 questions file: (question id, image id, text), in file order.
    public static func vqaQuestions(_ url: URL) throws -> [(id: Int, image: Int, question: String)] {
        guard let root = try json(url) as? [String: Any], let questions = root["questions"] as? [[String: Any]] else {
            throw EvalError.invalid("\(url.path): expected VQA questions {\"questions\": [...]}")
        }
        return try questions.enumerated().map { i, q in
            guard let id = (q["question_id"] as? NSNumber)?.intValue, let image = (q["image_id"] as? NSNumber)?.intValue,
                  let text = q["question"] as? String else {
                throw EvalError.invalid("\(url.path): question \(i) needs \"question_id\", \"image_id\" and \"question\"")
            }
            return (id, image, text)
        }
    }

    /// VQA results: a list or JSON Lines of `{"question_id", "answer"}`.
    public static func vqaResults(_ url: URL) throws -> [Int: String] {
        guard let rows = try json(url) as? [Any] else { throw EvalError.invalid("\(url.path): expected a list of {\"question_id\", \"answer\"}") }
        var out: [Int: String] = [:]
        for (i, row) in rows.enumerated() {
            guard let r = row as? [String: Any], let q = (r["question_id"] as? NSNumber)?.intValue, let answer = r["answer"] as? String else {
                throw EvalError.invalid("\(url.path): record \(i) needs \"question_id\" and an \"answer\" string")
            }
            guard out[q] == nil else { throw EvalError.invalid("\(url.path): question \(q) is answered twice (record \(i))") }
            out[q] = answer
        }
        return out
    }

    /// A Karpathy retrieval split (`[{"image": path, "caption": [texts]}, ...]`, as LAVIS's
    /// coco_karpathy_test.json): texts numbered image by image, caption by caption, as the
    /// official evaluation numbers them. Returns the image of every text.
    public static func retrievalSplit(_ url: URL) throws -> (images: [String], texts: [String], imageOfText: [Int]) {
        guard let rows = try json(url) as? [[String: Any]] else {
            throw EvalError.invalid("\(url.path): expected a list of {\"image\", \"caption\": [...]} records")
        }
        var images: [String] = [], texts: [String] = [], imageOfText: [Int] = []
        for (i, r) in rows.enumerated() {
            guard let image = r["image"] as? String else { throw EvalError.invalid("\(url.path): record \(i) has no \"image\"") }
            let captions = (r["caption"] as? [String]) ?? (r["caption"] as? String).map { [$0] }
            guard let captions, !captions.isEmpty else { throw EvalError.invalid("\(url.path): record \(i) has no captions") }
            images.append(image)
            for c in captions { texts.append(c); imageOfText.append(i) }
        }
        return (images, texts, imageOfText)
    }
}
