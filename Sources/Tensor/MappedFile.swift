import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only, private memory mapping of a whole file (`mmap` with `PROT_READ`, `MAP_PRIVATE`).
///
/// The mapping is released (`munmap`) when the object is deallocated. Tensor storages that
/// borrow memory from the mapping keep it alive through `TensorStorage(borrowing:count:owner:)`,
/// so a tensor stays valid after the file object that produced it is gone.
///
/// The memory is read-only: writing through a pointer into it crashes (SIGSEGV/SIGBUS).
public final class MappedFile: @unchecked Sendable {
    /// The mapped file.
    public let url: URL
    /// Start of the mapping, or `nil` for an empty file (a zero-length mapping is not allowed).
    public let base: UnsafeRawPointer?
    /// File size in bytes at the time it was mapped.
    public let size: Int

    /// Maps the regular file at `url`. Throws `SafeTensorsError.io` on failure.
    public init(url: URL) throws {
        self.url = url
        let path = url.path
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            throw SafeTensorsError.io(file: path, reason: "cannot open: \(MappedFile.errnoString())")
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 {
            throw SafeTensorsError.io(file: path, reason: "cannot stat: \(MappedFile.errnoString())")
        }
        if (st.st_mode & S_IFMT) != S_IFREG {
            throw SafeTensorsError.io(file: path, reason: "not a regular file")
        }
        let size = Int(st.st_size)
        self.size = size
        if size == 0 {
            self.base = nil
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
              p != UnsafeMutableRawPointer(bitPattern: -1)  // MAP_FAILED
        else {
            throw SafeTensorsError.io(file: path, reason: "mmap of \(size) bytes failed: \(MappedFile.errnoString())")
        }
        self.base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// The mapped bytes (empty for an empty file).
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: base == nil ? 0 : size)
    }

    /// Whether `pointer` points into the mapping.
    public func contains(_ pointer: UnsafeRawPointer) -> Bool {
        guard let base else { return false }
        return pointer >= base && pointer < base + size
    }

    static func errnoString() -> String {
        let code = errno
        return "\(String(cString: strerror(code))) (errno \(code))"
    }
}
