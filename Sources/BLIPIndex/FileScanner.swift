import BLIP
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns command-line paths into the list of image files to index.
public enum FileScanner {
    /// Extensions picked up when a folder is expanded (compared case-insensitively).
    /// A file named explicitly is taken whatever its extension: the decoder reads the magic bytes.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "webp"]

    /// The reason given for a named path that does not exist.
    public static let noSuchPath = "no such file or folder"

    /// A path that could not be expanded.
    public struct Missing: Sendable, Equatable {
        public let path: String
        public let reason: String
    }

    /// Absolute, standardised path (`.` and `..` removed, `~` expanded; symbolic links are kept as named).
    public static func absolutePath(_ path: String) -> String {
        URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL.path
    }

    /// Expands `paths`: files are kept, folders are walked recursively for files with an image extension,
    /// skipping hidden files and folders (names starting with "."). Each file appears once, in the order
    /// given, folder contents sorted by name. Paths that do not exist are returned in `missing`.
    public static func expand(_ paths: [String]) -> (files: [String], missing: [Missing]) {
        var files: [String] = []
        var seen = Set<String>()
        var missing: [Missing] = []
        var visitedFolders = Set<String>()
        let fm = FileManager.default

        func add(_ file: String) {
            if seen.insert(file).inserted { files.append(file) }
        }
        func walk(_ folder: String) {
            // Guard against symbolic-link loops.
            let real = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
            guard visitedFolders.insert(real).inserted else { return }
            guard let names = try? fm.contentsOfDirectory(atPath: folder) else {
                missing.append(Missing(path: folder, reason: "cannot list the folder"))
                return
            }
            for name in names.sorted() where !name.hasPrefix(".") {
                let child = folder == "/" ? "/" + name : folder + "/" + name
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: child, isDirectory: &isDir) else { continue }  // dangling link
                if isDir.boolValue {
                    walk(child)
                } else if imageExtensions.union(VideoFrames.extensions).contains((name as NSString).pathExtension.lowercased()) {
                    add(child)
                }
            }
        }

        for raw in paths {
            let path = absolutePath(raw)
            var isDir: ObjCBool = false
            if !fm.fileExists(atPath: path, isDirectory: &isDir) {
                missing.append(Missing(path: path, reason: noSuchPath))
            } else if isDir.boolValue {
                walk(path)
            } else {
                add(path)
            }
        }
        return (files, missing)
    }

    /// True when `path` is `root` or inside it (both absolute).
    public static func isUnder(_ path: String, root: String) -> Bool {
        path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    /// Size in bytes and modification time in nanoseconds since 1970, or nil if `stat` fails.
    public static func sizeAndModificationTime(_ path: String) -> (size: Int64, mtimeNanoseconds: Int64)? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        #if canImport(Darwin)
        let ts = st.st_mtimespec
        #else
        let ts = st.st_mtim
        #endif
        return (Int64(st.st_size), Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }
}
