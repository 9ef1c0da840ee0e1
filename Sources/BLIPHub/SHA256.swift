/// Streaming SHA-256 (FIPS 180-4), used to check downloaded LFS files against the hub's etag.
///
/// Pure Swift so the library needs no crypto dependency; feed bytes with `update`, read the hex digest
/// with `finalize`.
public struct SHA256: Sendable {
    private var state: [UInt32] = [
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
    ]
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    /// A fresh hasher.
    public init() { buffer.reserveCapacity(64) }

    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    /// Hashes more bytes.
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        var bytes = Array(bytes)
        length &+= UInt64(bytes.count)
        var start = 0
        if !buffer.isEmpty {
            let take = min(64 - buffer.count, bytes.count)
            buffer.append(contentsOf: bytes[0..<take])
            start = take
            if buffer.count == 64 {
                Self.compress(&state, buffer, 0, blocks: 1)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        let blocks = (bytes.count - start) / 64
        if blocks > 0 {
            Self.compress(&state, bytes, start, blocks: blocks)
            start += blocks * 64
        }
        if start < bytes.count { buffer.append(contentsOf: bytes[start...]) }
        bytes.removeAll()
    }

    /// The digest as 64 lowercase hex digits (the hasher is consumed).
    public mutating func finalize() -> String {
        let bitLength = length &* 8
        var tail: [UInt8] = [0x80]
        while (buffer.count + tail.count) % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        let saved = length
        update(tail)
        length = saved
        return state.map { word in
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 8 - hex.count) + hex
        }.joined()
    }

    /// Hex SHA-256 of `bytes` in one call.
    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var h = SHA256()
        h.update(bytes)
        return h.finalize()
    }

    private static func compress(_ state: inout [UInt32], _ data: [UInt8], _ offset: Int, blocks: Int) {
        k.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { data in
                state.withUnsafeMutableBufferPointer { h in
                    var w = [UInt32](repeating: 0, count: 64)
                    w.withUnsafeMutableBufferPointer { w in
                        for block in 0..<blocks {
                            let base = offset + block * 64
                            for i in 0..<16 {
                                let p = base + 4 * i
                                w[i] = UInt32(data[p]) << 24 | UInt32(data[p + 1]) << 16
                                    | UInt32(data[p + 2]) << 8 | UInt32(data[p + 3])
                            }
                            for i in 16..<64 {
                                let a = w[i - 15], b = w[i - 2]
                                let s0 = (a >> 7 | a << 25) ^ (a >> 18 | a << 14) ^ (a >> 3)
                                let s1 = (b >> 17 | b << 15) ^ (b >> 19 | b << 13) ^ (b >> 10)
                                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
                            }
                            var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
                            for i in 0..<64 {
                                let s1 = (e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)
                                let ch = (e & f) ^ (~e & g)
                                let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
                                let s0 = (a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)
                                let maj = (a & b) ^ (a & c) ^ (b & c)
                                let t2 = s0 &+ maj
                                hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
                            }
                            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d
                            h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
                        }
                    }
                }
            }
        }
    }
}
