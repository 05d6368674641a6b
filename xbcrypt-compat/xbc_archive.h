/*
 * xbc_archive.h - XBSTREAM archives in the xbcrypt drop-in (issue 11).
 *
 *   --xbstream            every mode member by member: xbc_run_archive()
 *   the inner check       -d and --verify without --xbstream follow the
 *                         archive inside a whole stream: struct xbc_inner,
 *                         a write callback in front of the real one
 *
 * The archive itself is the engine's (plugin/xb_engine.h); this file holds
 * what the user sees: messages, summaries, --info lines, exit statuses.
 */
#ifndef XBC_ARCHIVE_H
#define XBC_ARCHIVE_H

#include "xb_engine.h"
#include "xbc_options.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --xbstream with any mode: the exit status (0, or 1). */
int xbc_run_archive(const struct xbc_options *o);

/*
 * The inner check.  Decrypted plaintext goes through xbc_inner_write(),
 * which passes it on to next(next_opaque) (or nowhere when next is NULL:
 * --verify) and, when its first 8 bytes are XBSTCK01, to the engine's
 * archive check.  Other data is only passed on.
 */
struct xbc_inner {
    xbcrypt_write_fn next;
    void *next_opaque;
    bool crc;              /* check each archive chunk's CRC-32 too */
    unsigned char head[8]; /* the first bytes, until there are 8 */
    size_t head_len;
    bool decided;          /* head is complete: archive or not */
    xb_archive_check *check; /* an archive: its check */
    char msg[512];         /* why the check could not start */
};

/* `crc`: also check every archive chunk's CRC-32.  --verify does; -d does
 * not (the XBCRYPT layer has just checked every byte's CRC-32 and SHA-256,
 * and the archive's CRC would only catch damage done before encryption), so
 * that the check stays at the cost of a header walk. */
void xbc_inner_init(struct xbc_inner *in, xbcrypt_write_fn next, void *next_opaque, bool crc);
/* An xbcrypt_write_fn; opaque is a struct xbc_inner. */
int xbc_inner_write(void *opaque, const void *buf, size_t len);
/*
 * After the whole stream decrypted and verified: finishes the check.  0
 * when the data is not an archive, or an archive that ends where it
 * should; -1 after an error naming the member when it is cut short or
 * damaged.
 */
int xbc_inner_end(struct xbc_inner *in);
/* --verify, after its summary: a "checked:" line about the archive inside
 * (when there was one), and a warning when it holds no
 * xtrabackup_checkpoints. */
void xbc_inner_summary(const struct xbc_inner *in);
void xbc_inner_free(struct xbc_inner *in);

#endif /* XBC_ARCHIVE_H */
