import Foundation
import XCTest

@testable import BLIPHub

final class HubBasicsTests: XCTestCase {
    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Chunked updates that straddle block boundaries give the same digest.
        let million = Data(repeating: UInt8(ascii: "a"), count: 1_000_000)
        var h = SHA256()
        var offset = 0
        for size in [1, 63, 64, 65, 1000, 100_003] where offset < million.count {
            h.update(million[offset..<min(offset + size, million.count)])
            offset += size
        }
        h.update(million[offset...])
        XCTAssertEqual(h.finalize(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testHubIDParsing() throws {
        let id = try XCTUnwrap(HubModelID("Salesforce/blip-image-captioning-base"))
        XCTAssertEqual(id.repo, "Salesforce/blip-image-captioning-base")
        XCTAssertEqual(id.revision, "main")
        let pinned = try XCTUnwrap(HubModelID("Salesforce/blip-vqa-base@refs/pr/3"))
        XCTAssertEqual(pinned.repo, "Salesforce/blip-vqa-base")
        XCTAssertEqual(pinned.revision, "refs/pr/3")
        XCTAssertEqual(HubModelID("gpt2")?.repo, "gpt2")
        for bad in ["a/b/c", "/abs/path", "a--b/c", "a/../b", "-a/b", "a/b@", "", "a b/c"] {
            XCTAssertNil(HubModelID(bad), bad)
        }
        let client = HubClient(environment: HubEnvironment(environment: ["HF_ENDPOINT": "http://h:1/"]))
        XCTAssertEqual(client.resolveURL(repo: "o/n", revision: "refs/pr/3", file: "sub dir/a.json").absoluteString,
                       "http://h:1/o/n/resolve/refs%2Fpr%2F3/sub%20dir/a.json")
    }

    func testEnvironmentPrecedence() {
        XCTAssertEqual(HubEnvironment(environment: ["HF_HUB_CACHE": "/x/hub", "HF_HOME": "/y"]).cacheDirectory.path, "/x/hub")
        XCTAssertEqual(HubEnvironment(environment: ["HF_HOME": "/y"]).cacheDirectory.path, "/y/hub")
        XCTAssertEqual(HubEnvironment(environment: ["HOME": "/home/u"]).cacheDirectory.path,
                       "/home/u/.cache/huggingface/hub")
        let env = HubEnvironment(environment: ["HF_HUB_OFFLINE": "1", "HF_TOKEN": "t"])
        XCTAssertTrue(env.offline)
        XCTAssertEqual(env.token, "t")
        XCTAssertEqual(env.endpoint, "https://huggingface.co")
        XCTAssertFalse(HubEnvironment(environment: [:]).offline)
    }

    func testEtagNormalisation() {
        XCTAssertEqual(HubClient.normalizeEtag("W/\"abc\""), "abc")
        XCTAssertEqual(HubClient.normalizeEtag("\"abc\""), "abc")
    }
}
