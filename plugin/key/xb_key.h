/*
 * xb_key.h - key material: read from a file, a descriptor or bytes, held in
 * libgcrypt secure memory, wiped when freed.
 *
 * The functions are declared in xb_engine.h.  The key is the raw content of its source, trailing newline included: no
 * hex or base64 decoding and no derivation (as Percona's xbcrypt).
 */
#ifndef XB_KEY_H
#define XB_KEY_H

#include <xbcrypt/xbcrypt.h>

#include <stddef.h>
#include <stdint.h>

/* Largest key source accepted; AES needs at most 32 bytes. */
#define XB_KEY_SOURCE_MAX 4096u

struct xbcrypt_key {
    uint8_t *bytes; /* secure memory, `len` bytes */
    size_t len;
};

#endif /* XB_KEY_H */
