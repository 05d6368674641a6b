/*
 * abi_common.h - helpers shared by the tests that reach the engine only
 * through the shared object, the way a host does: dlopen(), the one entry
 * point, the table.  Nothing here links the engine.
 *
 * The tests find their inputs through the environment, set by meson:
 *   XBCRYPT_PLUGIN    path of xbcrypt-plugin.so to dlopen
 *   XBCRYPT_FIXTURES  the fixtures/ directory
 */
#ifndef ABI_COMMON_H
#define ABI_COMMON_H

#include <xbcrypt/xbcrypt.h>

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* The loaded shared object and its table. */
typedef struct abi_plugin {
    void *handle;
    xbcrypt_api_fn entry;
    const xbcrypt_api *api; /* entry(XBCRYPT_ABI_MAJOR), already init()ed */
} abi_plugin;

/* dlopen()s $XBCRYPT_PLUGIN, looks up the entry point, fetches the table and
 * calls init(); fails the current Check test on any error. */
void abi_load(abi_plugin *p);
/* cleanup() and dlclose(). */
void abi_unload(abi_plugin *p);

/* A growable byte buffer, and a write callback that appends to one. */
typedef struct abi_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    uint64_t calls; /* how many times the callback ran */
} abi_buf;

int abi_buf_write(void *opaque, const void *buf, size_t len);
void abi_buf_free(abi_buf *b);

/* IV source of the det/ fixtures: IV of chunk n is (16n + i) & 0xff. */
int abi_det_iv(void *opaque, uint64_t chunk_index, uint8_t iv[16]);

/* Path of a fixture, in a static buffer (one at a time). */
const char *abi_fixture_path(const char *rel);
/* Reads a whole file (malloc'ed, never NULL for a readable file, even when
 * empty); fails the test when it cannot. */
uint8_t *abi_read_file(const char *path, size_t *len);
/* Whether a file exists. */
int abi_file_exists(const char *path);

/* The key in fixtures/<rel>, through api->key_from_file; fails the test
 * when it cannot be read.  Free with api->key_free(). */
xbcrypt_key *abi_load_key(const xbcrypt_api *api, const char *rel);

/* The fixtures' plaintext rule: byte i = (i * 7) mod 251. */
uint8_t *abi_plaintext(size_t len);

/* SHA-256, written here so the tests do not check the engine with itself. */
void abi_sha256(const void *data, size_t len, uint8_t out[32]);
/* Lower-case hex of 32 bytes into out[65]. */
void abi_hex32(const uint8_t in[32], char out[65]);

/*
 * Run a whole stream through a new encoder or decoder: data is fed in pieces
 * of `split` bytes (0 = all at once), then finish() is called.  Returns the
 * first status that is not OK (or OK); the object's message is copied to
 * msg.  Output is appended to *out (which may be NULL for the decoder: then
 * it only verifies).  *stats, when non-NULL, gets the object's totals.
 */
xbcrypt_status abi_encode(const xbcrypt_api *api, const xbcrypt_settings *s, const void *data,
                          size_t len, size_t split, abi_buf *out, xbcrypt_stats *stats, char *msg,
                          size_t msg_size);
xbcrypt_status abi_decode(const xbcrypt_api *api, const xbcrypt_settings *s, const void *data,
                          size_t len, size_t split, abi_buf *out, xbcrypt_stats *stats, char *msg,
                          size_t msg_size);

/* Runs a suite and returns the process exit code.  `fork` is
 * CK_FORK_GETENV to let CK_FORK decide (as Check does by default), or
 * CK_FORK where each test needs a process of its own. */
int abi_run_suite(Suite *s, enum fork_status fork);
/* A suite of one test case `tcase` holding the one test `test`, with a
 * Check timeout of `timeout` seconds. */
Suite *abi_suite_of_one(const char *suite, const char *tcase, double timeout, const TTest *test);

#endif /* ABI_COMMON_H */
