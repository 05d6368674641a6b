/* xbc_archive.c - XBSTREAM archives in the xbcrypt drop-in; see xbc_archive.h. */
#include "xbc_archive.h"
#include "xbc_common.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- the inner check --------------------------------------------------- */

void xbc_inner_init(struct xbc_inner *in, xbcrypt_write_fn next, void *next_opaque)
{
    memset(in, 0, sizeof *in);
    in->next = next;
    in->next_opaque = next_opaque;
}

/* Feeds the check while it is sound; its first error sticks and is told at
 * the end, when everything that verified has been written. */
static void inner_feed(struct xbc_inner *in, const void *buf, size_t len)
{
    if (in->check && len && xb_archive_check_status(in->check) == XBCRYPT_OK)
        (void)xb_archive_check_feed(in->check, buf, len);
}

int xbc_inner_write(void *opaque, const void *buf, size_t len)
{
    struct xbc_inner *in = opaque;
    const unsigned char *p = buf;
    size_t rest = len;
    if (!in->decided) {
        size_t take = sizeof in->head - in->head_len;
        if (take > rest)
            take = rest;
        memcpy(in->head + in->head_len, p, take);
        in->head_len += take;
        p += take;
        rest -= take;
        if (in->head_len == sizeof in->head) {
            in->decided = true;
            if (xb_archive_is_archive(in->head, in->head_len) &&
                xb_archive_check_new(0, &in->check, in->msg, sizeof in->msg) == XBCRYPT_OK)
                inner_feed(in, in->head, in->head_len);
        }
    }
    inner_feed(in, p, rest);
    return in->next ? in->next(in->next_opaque, buf, len) : 0;
}

int xbc_inner_end(struct xbc_inner *in)
{
    if (!in->decided || !xb_archive_is_archive(in->head, in->head_len))
        return 0; /* not an archive: nothing to say */
    if (!in->check) {
        /* Out of memory at the start: say it was not checked, do not fail
         * a decryption that worked. */
        warning("the data is an XBSTREAM archive, but its structure was not checked: %s",
                in->msg[0] ? in->msg : "the check could not start");
        return 0;
    }
    xbcrypt_status st = xb_archive_check_status(in->check);
    if (st == XBCRYPT_OK)
        st = xb_archive_check_finish(in->check);
    if (st == XBCRYPT_OK)
        return 0;
    const char *what = xb_archive_check_message(in->check);
    if (st == XBCRYPT_E_TRUNCATED || st == XBCRYPT_E_UNCLOSED) {
        error("the archive inside the stream: %s", what);
        hint("every XBCRYPT chunk verified, but the stream stops before the archive's end: "
             "was a copy, an upload or the backup interrupted?");
    } else {
        error("the archive inside the stream: %s", what);
        hint("every XBCRYPT chunk verified, so it was damaged before it was encrypted");
    }
    return -1;
}

void xbc_inner_summary(const struct xbc_inner *in)
{
    if (!in->check)
        return;
    xbcrypt_archive_summary sum = {.struct_size = sizeof sum};
    xb_archive_check_summary(in->check, &sum);
    info("checked: the archive inside: %" PRIu64 " member%s, all closed%s%s%s", sum.members,
         sum.members == 1 ? "" : "s", sum.checkpoints ? ", xtrabackup_checkpoints present" : "",
         sum.checkpoints && sum.backup_type[0] ? ", backup_type = " : "",
         sum.checkpoints ? sum.backup_type : "");
    if (!sum.checkpoints)
        warning("the archive inside has no xtrabackup_checkpoints member: it did not come from "
                "a finished backup");
}

void xbc_inner_free(struct xbc_inner *in)
{
    xb_archive_check_free(in->check);
    in->check = NULL;
}

/* ---- --xbstream ------------------------------------------------------- */

int xbc_run_archive(const struct xbc_options *o)
{
    (void)o;
    error("--xbstream: the member-level transform is not in this build yet");
    return 1;
}
