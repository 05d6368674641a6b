/*
 * xb_archive_tally.h - what the archive check and the member transform
 * both say about an archive: its summary, the walker's CRC through
 * plugin/crypto, and the walker's results as engine statuses.
 *
 * Owned by the one thread that feeds the walker.
 */
#ifndef XB_ARCHIVE_TALLY_H
#define XB_ARCHIVE_TALLY_H

#include "crypto/xb_crypto.h"
#include "xbstream/xbs_walk.h"

#include <xbcrypt/xbcrypt.h>

#include <stdbool.h>
#include <stddef.h>

/* Text of xtrabackup_checkpoints kept to find its backup_type. */
#define XB_CHECKPOINTS_KEEP 4096u

typedef struct xb_tally {
    xbs_walk *walk;
    /* The walker's CRC-32 (hasher NULL when CRCs are not checked): the
     * hasher's, libipsec-mb's where the CPU has it (four times libgcrypt's;
     * on the reading thread, which a whole stream does not burden with it),
     * kept incremental by combining the CRCs of the pieces a payload comes
     * in (one piece, no combining, when a read holds the whole payload). */
    struct xb_tally_crc {
        xb_hasher *hasher;
        uint32_t crc;
        bool fresh;
    } crc;
    uint64_t encrypted;       /* members named *.xbcrypt */
    uint64_t verified;
    bool checkpoints;
    char backup_type[32];
    uint8_t cp_text[XB_CHECKPOINTS_KEEP]; /* the plain xtrabackup_checkpoints so far */
    size_t cp_len;
    const xbs_member *cp_member;          /* the member cp_text comes from */
} xb_tally;

/* The walker's CRC functions over `d` (a digest of plugin/crypto). */
xbs_crc_ops xb_tally_crc_ops(xb_digest *d);

/* Opens the walker (and the CRC when check_crc).  On failure says why in
 * msg; nothing is left to free. */
xbcrypt_status xb_tally_init(xb_tally *t, bool check_crc, char *msg, size_t msg_size);
void xb_tally_destroy(xb_tally *t);

/* Accounts one walker event: members named *.xbcrypt, the checkpoints
 * member and its text (for a plain member). */
void xb_tally_event(xb_tally *t, const xbs_event *ev);

/* Text (of the plain checkpoints member, e.g. decrypted by the transform)
 * for `m`, which must be a checkpoints member. */
void xb_tally_checkpoints_text(xb_tally *t, const xbs_member *m, const void *buf, size_t len);
/* `m` ended: when it is the checkpoints member, mark it seen and parse. */
void xb_tally_member_end(xb_tally *t, const xbs_member *m);

/* True when `path` names xtrabackup_checkpoints, plain (*plain = true) or
 * compressed or encrypted. */
bool xb_is_checkpoints(const char *path, size_t plen, bool *plain);
/* True when `path` ends in ".xbcrypt". */
bool xb_is_xbcrypt_name(const char *path, size_t plen);

/* The engine status for a walker result. */
xbcrypt_status xb_tally_status(xbs_result r);

void xb_tally_summary(const xb_tally *t, xbcrypt_archive_summary *out);

#endif /* XB_ARCHIVE_TALLY_H */
