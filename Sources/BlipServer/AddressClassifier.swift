import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which IP addresses a remote-image fetch may reach: public unicast only, unless the server runs
/// with `--allow-private-remote-images`.
public enum AddressClassifier {
    /// Why an address is not public (nil from `nonPublicReason` means public).
    public enum Reason: String, Sendable, Equatable {
        case unspecified, loopback, privateNetwork = "private", sharedAddressSpace = "shared address space (100.64.0.0/10)"
        case linkLocal = "link-local", multicast, reserved, documentation, uniqueLocal = "unique local (fc00::/7)"
        case siteLocal = "site-local", broadcast, thisNetwork = "\"this network\" (0.0.0.0/8)"
        case translated = "IPv6 transition address embedding a non-public IPv4 address"
    }

    /// Why `bytes` (4 bytes IPv4 or 16 bytes IPv6, network order) is not a public unicast address;
    /// nil when it is public. Any other length counts as reserved.
    public static func nonPublicReason(_ bytes: [UInt8]) -> Reason? {
        switch bytes.count {
        case 4: return ipv4Reason(bytes)
        case 16: return ipv6Reason(bytes)
        default: return .reserved
        }
    }

    /// Parses a numeric IPv4 or IPv6 address ("10.0.0.1", "::1") to its bytes.
    public static func parse(_ string: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, string, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, string, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    private static func ipv4Reason(_ b: [UInt8]) -> Reason? {
        switch (b[0], b[1], b[2]) {
        case (0, _, _): return .thisNetwork
        case (10, _, _): return .privateNetwork
        case (100, 64...127, _): return .sharedAddressSpace
        case (127, _, _): return .loopback
        case (169, 254, _): return .linkLocal
        case (172, 16...31, _): return .privateNetwork
        case (192, 0, 0): return .reserved  // IETF protocol assignments
        case (192, 0, 2), (198, 51, 100), (203, 0, 113): return .documentation
        case (192, 88, 99): return .reserved  // deprecated 6to4 relay anycast
        case (192, 168, _): return .privateNetwork
        case (198, 18...19, _): return .reserved  // benchmarking
        case (224...239, _, _): return .multicast
        case (255, 255, 255) where b[3] == 255: return .broadcast
        case (240...255, _, _): return .reserved
        default: return nil
        }
    }

    private static func ipv6Reason(_ b: [UInt8]) -> Reason? {
        let firstTen = b[0..<10].allSatisfy { $0 == 0 }
        // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible, deprecated) embed an IPv4 address.
        if firstTen && b[10] == 0xff && b[11] == 0xff { return ipv4Reason(Array(b[12..<16])) }
        if firstTen && b[10] == 0 && b[11] == 0 {
            if b[12..<15].allSatisfy({ $0 == 0 }) {
                if b[15] == 0 { return .unspecified }
                if b[15] == 1 { return .loopback }
            }
            return ipv4Reason(Array(b[12..<16])) ?? .reserved
        }
        // 64:ff9b::/96 (NAT64) embeds an IPv4 address: refuse when that one is not public.
        if b[0..<12].elementsEqual([0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]) {
            return ipv4Reason(Array(b[12..<16])) == nil ? nil : .translated
        }
        // 64:ff9b:1::/48 (local-use NAT64).
        if b[0..<6].elementsEqual([0x00, 0x64, 0xff, 0x9b, 0x00, 0x01]) { return .reserved }
        // 2002::/16 (6to4) embeds an IPv4 address in bytes 2...5.
        if b[0] == 0x20 && b[1] == 0x02 { return ipv4Reason(Array(b[2..<6])) == nil ? nil : .translated }
        // 2001:0::/32 Teredo (embeds an obfuscated address: refused), 2001:db8::/32 documentation.
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00 { return .reserved }
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8 { return .documentation }
        // 100::/64 discard-only.
        if b[0] == 0x01 && b[1] == 0x00 && b[2..<8].allSatisfy({ $0 == 0 }) { return .reserved }
        if b[0] & 0xfe == 0xfc { return .uniqueLocal }  // fc00::/7
        if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return .linkLocal }  // fe80::/10
        if b[0] == 0xfe && b[1] & 0xc0 == 0xc0 { return .siteLocal }  // fec0::/10 (deprecated)
        if b[0] == 0xff { return .multicast }  // ff00::/8
        // Only 2000::/3 is allocated global unicast; everything else is reserved.
        if b[0] & 0xe0 != 0x20 { return .reserved }
        return nil
    }

    /// Every address `host` resolves to (numeric hosts included), as bytes. Blocking (getaddrinfo).
    static func resolve(_ host: String) throws -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            let detail = String(cString: gai_strerror(status))
            throw APIError.unprocessable("image url host \(host) could not be resolved: \(detail)", type: "remote_image_failed")
        }
        defer { freeaddrinfo(first) }
        var out: [[UInt8]] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let n = node {
            if let addr = n.pointee.ai_addr {
                switch Int32(n.pointee.ai_family) {
                case AF_INET:
                    addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                        var a = p.pointee.sin_addr
                        out.append(withUnsafeBytes(of: &a) { Array($0) })
                    }
                case AF_INET6:
                    addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                        var a = p.pointee.sin6_addr
                        out.append(withUnsafeBytes(of: &a) { Array($0) })
                    }
                default: break
                }
            }
            node = n.pointee.ai_next
        }
        return out
    }
}
