// XXH64: the content hash of snapshot manifests, shared by the agent (which records and checks it) and the
// controller (which checks a downloaded archive against it).
#ifndef SHIPKEEP_CXXHASH_H
#define SHIPKEEP_CXXHASH_H

#include <stddef.h>
#include <stdint.h>

/// Streaming XXH64 state: a fast 64-bit content hash for snapshot manifests (integrity, not security).
typedef struct {
    uint64_t total_len;
    uint64_t v[4];
    uint8_t buffer[32];
    uint32_t buffered;
} shipkeep_xxh64_state;

void shipkeep_xxh64_reset(shipkeep_xxh64_state *state, uint64_t seed);
void shipkeep_xxh64_update(shipkeep_xxh64_state *state, const void *data, size_t length);
uint64_t shipkeep_xxh64_digest(const shipkeep_xxh64_state *state);

#endif
