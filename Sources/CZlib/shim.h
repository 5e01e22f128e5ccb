// zlib as Debian ships it (zlib1g-dev). deflateInit2 and inflateInit2 are macros that pass the library
// version and the struct size; Swift cannot call macros, so they get inline wrappers.
#ifndef SHIPKEEP_CZLIB_SHIM_H
#define SHIPKEEP_CZLIB_SHIM_H

#include <zlib.h>

/// deflateInit2 writing the gzip format (window bits 15 + 16), default memory level and strategy.
static inline int shipkeep_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

/// inflateInit2 reading the gzip format only (window bits 15 + 16).
static inline int shipkeep_inflate_init_gzip(z_streamp stream) {
    return inflateInit2(stream, 15 + 16);
}

#endif
