/*
 * xbc_mapped.h - a regular input file mapped read-only and lent to the
 * engine in slices (xb_*_feed_shared), so that the workers read the page
 * cache in place instead of the reading thread copying it with read().
 *
 * A mapped file that shrinks under the run would kill it with SIGBUS at the
 * first page past its new end.  The guard (installed once by main) catches
 * that fault inside the mapping, maps zeros over the rest of the mapping so
 * that the faulting access completes, and records it: from then on the
 * output sink refuses to write (xbc_sink_write), and the run ends with the
 * "shrank while it was read" error.  The engine checks decrypted chunks in
 * its own memory, so zeros never pass as plaintext; encrypted output of
 * zeros is never written.  A SIGBUS outside the mapping keeps its default
 * action.
 */
#ifndef XBC_MAPPED_H
#define XBC_MAPPED_H

#include <xbcrypt/xbcrypt.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xbc_map {
    uint8_t *base;   /* NULL when nothing is mapped */
    size_t len;      /* bytes of the file in the mapping */
    size_t lead;     /* bytes before them, to the page boundary the mapping starts at */
};

/* Installs the SIGBUS guard; once, before any mapping. */
void xbc_map_guard_install(void);

/* Maps bytes [pos, pos + len) of fd (a regular file) read-only, and arms
 * the guard over them.  0, or -1 when the file cannot be mapped (the
 * caller reads it instead; nothing is printed). */
int xbc_map_open(struct xbc_map *m, int fd, uint64_t pos, uint64_t len);
/* Unmaps and disarms; a map that was never opened is left alone. */
void xbc_map_close(struct xbc_map *m);

/* Hints for the bytes [off, off + len) of the mapping: read ahead (soon
 * needed), populate the page tables now (needed next), or drop them (no
 * longer read).  Populate returns -1 when a page is past the file's end
 * (it shrank); the others always 0. */
void xbc_map_willneed(const struct xbc_map *m, size_t off, size_t len);
int xbc_map_populate(const struct xbc_map *m, size_t off, size_t len);
void xbc_map_drop(const struct xbc_map *m, size_t off, size_t len);

/*
 * Lends the mapping of fd (which began at file offset `start`) to `feed` a
 * slice at a time: the next slice is read ahead, this one's page tables
 * filled, the one before it dropped once feed no longer reads it (the
 * xb_*_feed_shared contract).  After each slice `lent(opaque, bytes)` gets
 * the bytes lent so far.  Returns feed's first failure, or XBCRYPT_OK;
 * *done is the bytes lent and taken.  When the file turns out shorter than
 * the mapping (truncated meanwhile: a fault, or its size), *shrank is set
 * and *done is what is left of it.  The caller unmaps only after the
 * object fed is freed.
 */
typedef xbcrypt_status (*xbc_lend_fn)(void *obj, const void *buf, size_t len);
typedef void (*xbc_lent_fn)(void *opaque, uint64_t bytes);
xbcrypt_status xbc_map_lend(const struct xbc_map *m, int fd, uint64_t start, size_t slice,
                            xbc_lend_fn feed, void *obj, xbc_lent_fn lent, void *opaque,
                            uint64_t *done, bool *shrank);

/* True once the guard replaced pages of a mapping: the file shrank. */
bool xbc_map_faulted(void);

/* Bytes lent to the engine at once: larger than the ring of `threads`
 * workers at `chunk` bytes, so that a slice's end never waits for them.
 * 0 (read() instead) when the workers leave a CPU to the reading thread,
 * whose copy then costs no wall time. */
size_t xbc_map_slice(unsigned threads, uint64_t chunk);

#endif /* XBC_MAPPED_H */
