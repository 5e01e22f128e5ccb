// The one place that imports the C library: Glibc on Linux, Darwin on macOS. Every other file imports Platform,
// and the differences between the two live in the files next to this one.
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Musl)
@_exported import Musl
#elseif canImport(Darwin)
@_exported import Darwin
#else
#error("shipkeep needs Glibc, Musl or Darwin")
#endif
