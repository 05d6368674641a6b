/* xb_key.c - reading and holding key material. */
#include "key/xb_key.h"

#include "crypto/xb_crypto.h"
#include "xb_engine.h"
#include "xb_msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads fd to its end into a fresh secure buffer.  `what` names the source
 * in messages. */
static xbcrypt_status read_key_fd(int fd, const char *what, xbcrypt_key **out, char *msg,
                                  size_t msg_size)
{
    xbcrypt_status st = xb_crypto_init(msg, msg_size);
    if (st != XBCRYPT_OK)
        return st;

    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        xb_say(msg, msg_size, "cannot read key file %s: %s", what, strerror(errno));
        return XBCRYPT_E_IO;
    }
    if (S_ISDIR(sb.st_mode)) {
        xb_say(msg, msg_size, "cannot read key file %s: it is a directory", what);
        return XBCRYPT_E_IO;
    }

    /* One byte more than the limit, to notice an oversized source. */
    const size_t cap = XB_KEY_SOURCE_MAX + 1;
    uint8_t *buf = xb_secure_alloc(cap);
    if (!buf) {
        xb_say(msg, msg_size,
               "out of secure memory to read key file %s (libgcrypt's locked pool is full; the "
               "locked-memory limit may be too small: ulimit -l)",
               what);
        return XBCRYPT_E_NOMEM;
    }
    size_t len = 0;
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            xb_say(msg, msg_size, "cannot read key file %s: %s", what, strerror(errno));
            xb_secure_free(buf, cap);
            return XBCRYPT_E_IO;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len == 0 || len > XB_KEY_SOURCE_MAX) {
        xb_say(msg, msg_size, "key file %s is %s", what,
               len == 0 ? "empty" : "larger than 4096 bytes; a key file holds the raw key only");
        xb_secure_free(buf, cap);
        return XBCRYPT_E_KEY;
    }
    st = xb_key_from_bytes(buf, len, out, msg, msg_size);
    xb_secure_free(buf, cap);
    return st;
}

xbcrypt_status xb_key_from_file(const char *path, xbcrypt_key **out, char *msg, size_t msg_size)
{
    if (!out)
        return XBCRYPT_E_ARG;
    *out = NULL;
    if (!path)
        return XBCRYPT_E_ARG;
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        xb_say(msg, msg_size, "cannot open key file %s: %s", path, strerror(errno));
        return XBCRYPT_E_IO;
    }
    xbcrypt_status st = read_key_fd(fd, path, out, msg, msg_size);
    close(fd);
    return st;
}

xbcrypt_status xb_key_from_fd(int fd, xbcrypt_key **out, char *msg, size_t msg_size)
{
    if (!out)
        return XBCRYPT_E_ARG;
    *out = NULL;
    if (fd < 0)
        return XBCRYPT_E_ARG;
    char what[32];
    snprintf(what, sizeof what, "(descriptor %d)", fd);
    return read_key_fd(fd, what, out, msg, msg_size);
}

xbcrypt_status xb_key_from_bytes(const void *bytes, size_t len, xbcrypt_key **out, char *msg,
                                 size_t msg_size)
{
    if (!out)
        return XBCRYPT_E_ARG;
    *out = NULL;
    if (!bytes || len == 0 || len > XB_KEY_SOURCE_MAX) {
        xb_say(msg, msg_size, "a key must be 1 to %u bytes", XB_KEY_SOURCE_MAX);
        return XBCRYPT_E_KEY;
    }
    xbcrypt_status st = xb_crypto_init(msg, msg_size);
    if (st != XBCRYPT_OK)
        return st;
    xbcrypt_key *k = xb_secure_alloc(sizeof *k);
    if (k && !(k->bytes = xb_secure_alloc(len))) {
        xb_secure_free(k, sizeof *k);
        k = NULL;
    }
    if (!k) {
        xb_say(msg, msg_size,
               "out of secure memory for a %zu-byte key (libgcrypt's locked pool is full; the "
               "locked-memory limit may be too small: ulimit -l)",
               len);
        return XBCRYPT_E_NOMEM;
    }
    memcpy(k->bytes, bytes, len);
    xb_scrub_after_key(); /* memcpy moved the key through vector registers */
    k->len = len;
    *out = k;
    return XBCRYPT_OK;
}

size_t xb_key_size(const xbcrypt_key *key)
{
    return key ? key->len : 0;
}

void xb_key_free(xbcrypt_key *key)
{
    if (!key)
        return;
    xb_secure_free(key->bytes, key->len);
    xb_secure_free(key, sizeof *key);
}

static bool aes_key_size(size_t len)
{
    return len == 16 || len == 24 || len == 32;
}

xbcrypt_status xb_key_check(const xbcrypt_key *key, xbcrypt_algo algo, char *msg, size_t msg_size)
{
    if (algo == XBCRYPT_ALGO_NONE)
        return XBCRYPT_OK;
    if (algo < XBCRYPT_ALGO_NONE || algo > XBCRYPT_ALGO_AES256) {
        xb_say(msg, msg_size, "unknown algorithm number %d", (int)algo);
        return XBCRYPT_E_ARG;
    }
    if (!key) {
        xb_say(msg, msg_size, "AES needs a key, and none was given");
        return XBCRYPT_E_KEY;
    }
    if (aes_key_size(key->len))
        return XBCRYPT_OK;
    if (aes_key_size(key->len - 1) && key->bytes[key->len - 1] == '\n')
        xb_say(msg, msg_size,
               "the key is %zu bytes, the last of them a newline; AES takes 16, 24 or 32 bytes "
               "and the whole key file is the key, so write it without the newline "
               "(printf %%s \"$(cat KEYFILE)\" > NEWKEYFILE)",
               key->len);
    else
        xb_say(msg, msg_size,
               "the key is %zu bytes; AES takes 16, 24 or 32 bytes (the whole key file is the "
               "key; make one with: openssl rand -out KEYFILE 32)",
               key->len);
    return XBCRYPT_E_KEY;
}

bool xb_key_equal(const xbcrypt_key *a, const xbcrypt_key *b)
{
    if (!a || !b)
        return a == b;
    if (a->len != b->len)
        return false;
    return xb_const_equal(a->bytes, b->bytes, a->len) != 0;
}
