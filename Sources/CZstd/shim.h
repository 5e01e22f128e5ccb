// zstd as Debian ships it (libzstd-dev), for the zstd stream of `download`.
#ifndef SHIPKEEP_CZSTD_SHIM_H
#define SHIPKEEP_CZSTD_SHIM_H

#include <zstd.h>

#endif
