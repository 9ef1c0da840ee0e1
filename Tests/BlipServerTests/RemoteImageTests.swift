import BLIP
@testable import BlipServer
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// `{"url": ...}` images: address policy (SSRF), credentials, redirects, total deadline.
final class RemoteImageTests: XCTestCase {
    func reason(_ address: String) -> AddressClassifier.Reason? {
        guard let bytes = AddressClassifier.parse(address) else {
            XCTFail("cannot parse \(address)")
            return .reserved
        }
        return AddressClassifier.nonPublicReason(bytes)
    }

    func testAddressClassifier() {
        let expected: [(String, AddressClassifier.Reason?)] = [
            ("8.8.8.8", nil), ("1.1.1.1", nil), ("93.184.216.34", nil), ("172.15.255.255", nil), ("172.32.0.1", nil),
            ("100.63.255.255", nil), ("100.128.0.0", nil), ("169.253.1.1", nil), ("223.255.255.255", nil),
            ("0.0.0.0", .thisNetwork), ("0.1.2.3", .thisNetwork),
            ("10.0.0.1", .privateNetwork), ("10.255.255.255", .privateNetwork),
            ("100.64.0.1", .sharedAddressSpace), ("100.127.255.255", .sharedAddressSpace),
            ("127.0.0.1", .loopback), ("127.255.0.9", .loopback),
            ("169.254.169.254", .linkLocal),
            ("172.16.0.1", .privateNetwork), ("172.31.255.255", .privateNetwork),
            ("192.168.1.1", .privateNetwork), ("192.0.2.1", .documentation), ("198.18.0.1", .reserved),
            ("224.0.0.1", .multicast), ("239.255.255.250", .multicast), ("240.0.0.1", .reserved),
            ("255.255.255.255", .broadcast),
            ("2606:4700:4700::1111", nil), ("2001:4860:4860::8888", nil),
            ("::", .unspecified), ("::1", .loopback),
            ("fc00::1", .uniqueLocal), ("fd12:3456::1", .uniqueLocal),
            ("fe80::1", .linkLocal), ("febf::1", .linkLocal), ("fec0::1", .siteLocal),
            ("ff02::1", .multicast), ("2001:db8::1", .documentation), ("2001::1", .reserved),
            ("::ffff:127.0.0.1", .loopback), ("::ffff:10.1.2.3", .privateNetwork), ("::ffff:169.254.169.254", .linkLocal),
            ("::ffff:8.8.8.8", nil), ("::127.0.0.1", .loopback), ("::8.8.8.8", .reserved),
            ("64:ff9b::7f00:1", .translated), ("64:ff9b::808:808", nil),
            ("2002:7f00:1::1", .translated), ("2002:c0a8:101::1", .translated), ("2002:808:808::1", nil),
            ("100::1", .reserved), ("4000::1", .reserved),
        ]
        for (address, want) in expected {
            XCTAssertEqual(reason(address), want, address)
        }
        XCTAssertEqual(AddressClassifier.nonPublicReason([1, 2, 3]), .reserved)
        XCTAssertNil(AddressClassifier.parse("not an address"))
    }

    private func remoteLimits(allowPrivate: Bool = false, timeout: Double = 5) -> ServerLimits {
        var limits = ServerLimits()
        limits.allowRemoteImages = true
        limits.allowPrivateRemoteImages = allowPrivate
        limits.remoteImageTimeoutSeconds = timeout
        return limits
    }

    /// Non-public hosts and credentials are refused with 422 remote_image_forbidden, and no
    /// connection is even attempted.
    func testNonPublicAddressesAreRefusedWithoutARequest() async throws {
        let listener = try ListeningSocket()
        let port = listener.port
        try await withClient(makeServer(limits: remoteLimits())) { client in
            for url in ["http://127.0.0.1:\(port)/cat.png", "http://localhost:\(port)/cat.png", "http://[::1]:\(port)/x.png",
                        "http://[::ffff:127.0.0.1]:\(port)/x.png", "http://10.0.0.1/x.png", "http://169.254.169.254/latest/meta-data",
                        "https://192.168.0.1/x.png", "http://0.0.0.0:\(port)/", "http://user:secret@127.0.0.1:\(port)/x.png",
                        "http://user:secret@example.com/x.png"] {
                try await client.execute(uri: "/", method: .post, headers: jsonHeaders, body: body(["inputs": ["images": [["url": url]]]])) { r in
                    XCTAssertEqual(r.status, .unprocessableContent, url)
                    XCTAssertEqual(json(r)["error_type"] as? String, "remote_image_forbidden", url)
                    let message = json(r)["error"] as? String ?? ""
                    XCTAssertTrue(message.contains("--allow-private-remote-images") || message.contains("credentials"), message)
                }
            }
        }
        XCTAssertNil(listener.accept(seconds: 0.2), "a refused URL must not be fetched")
    }

    /// With --allow-private-remote-images a local origin is fetched; a redirect to this server's
    /// own port is refused.
    func testPrivateOptInFetchesAndRedirectToOwnPortIsRefused() async throws {
        let origin = try ListeningSocket()
        let png = Fixture.camera
        let server = makeServer(limits: remoteLimits(allowPrivate: true))
        let served = OnceFlag()
        try await withLiveServer(server) { port in
            origin.serve(seconds: 20) { c in
                // First connection: the image; the next ones: a redirect to the blip server itself.
                if !served.getAndSet() {
                    write(c, "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: \(png.count)\r\nConnection: close\r\n\r\n")
                    _ = png.withUnsafeBytes { send(c, $0.baseAddress!, $0.count, 0) }
                } else {
                    write(c, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:\(port)/health\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                }
            }
            let payload = try JSONSerialization.data(withJSONObject: ["inputs": ["images": [["url": "http://127.0.0.1:\(origin.port)/a.png"]]]])
            let ok = try XCTUnwrap(rawRequest(port: port, method: "POST", path: "/", contentType: "application/json", body: payload))
            XCTAssertEqual(ok.status, 200, String(decoding: ok.body, as: UTF8.self))
            let results = (ok.json["captions"] as? [[String: Any]])?.first?["image_results"] as? [String]
            XCTAssertEqual(results, ["caption 40x56"])
            let redirected = try XCTUnwrap(rawRequest(port: port, method: "POST", path: "/", contentType: "application/json", body: payload))
            XCTAssertEqual(redirected.status, 422, String(decoding: redirected.body, as: UTF8.self))
            XCTAssertEqual(redirected.json["error_type"] as? String, "remote_image_forbidden")
            XCTAssertTrue((redirected.json["error"] as? String ?? "").contains("points at this server"), "\(redirected.json)")
            // Directly to the own port: refused too.
            let own = try JSONSerialization.data(withJSONObject: ["inputs": ["images": [["url": "http://127.0.0.1:\(port)/health"]]]])
            let direct = try XCTUnwrap(rawRequest(port: port, method: "POST", path: "/", contentType: "application/json", body: own))
            XCTAssertEqual(direct.json["error_type"] as? String, "remote_image_forbidden")
        }
    }

    /// An origin that trickles its body (1 byte every 0.2 s) is cut off by the total deadline:
    /// 504 remote_image_timeout.
    func testRemoteFetchHasAWallClockDeadline() async throws {
        let origin = try ListeningSocket()
        origin.serve(seconds: 30) { c in
            guard write(c, "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n") else { return }
            for _ in 0..<150 {  // at most 30 s, stops as soon as the client goes
                guard write(c, "x") else { return }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        let url = "http://127.0.0.1:\(origin.port)/slow.png"
        try await withClient(makeServer(limits: remoteLimits(allowPrivate: true, timeout: 1))) { client in
            try await client.execute(uri: "/", method: .post, headers: jsonHeaders, body: body(["inputs": ["images": [["url": url]]]])) { r in
                XCTAssertEqual(r.status, .gatewayTimeout)
                XCTAssertEqual(json(r)["error_type"] as? String, "remote_image_timeout")
                XCTAssertTrue((json(r)["error"] as? String ?? "").contains("within 1 seconds"), "\(json(r))")
            }
        }
    }
}

/// A flag set once (test origins that answer differently the second time).
final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    /// The previous value; sets the flag.
    func getAndSet() -> Bool {
        lock.withLock {
            defer { set = true }
            return set
        }
    }
}
