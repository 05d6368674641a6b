/*
 * xb_archive_check.c - the archive check: an XBSTREAM archive followed as
 * it streams by, without keeping a payload byte.
 *
 * This is the inner check of a whole-stream decryption (the plaintext of a
 * stream that starts with XBSTCK01 is fed here as it is released) and the
 * structure-only half of a member-level verify.  Its cost is the walk over
 * headers plus, when CRCs are checked, CRC-32 of every payload byte.
 */
#include "archive/xb_archive_tally.h"
#include "xb_engine.h"
#include "xb_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xbcrypt_archive_check {
    xb_tally tally;
    xbcrypt_status status;
    bool finished;
    char msg[XBS_MSG_SIZE];
};

int xb_archive_is_archive(const void *buf, size_t len)
{
    return buf && len >= XBS_MAGIC_SIZE && xbs_is_magic(buf);
}

xbcrypt_status xb_archive_check_new(unsigned flags, xb_archive_check **out, char *msg,
                                    size_t msg_size)
{
    if (!out)
        return XBCRYPT_E_ARG;
    *out = NULL;
    if (flags & ~XB_ARCHIVE_CHECK_NO_CRC) {
        xb_say(msg, msg_size, "archive check: unknown flags 0x%x", flags);
        return XBCRYPT_E_ARG;
    }
    xb_archive_check *c = calloc(1, sizeof *c);
    if (!c) {
        xb_say(msg, msg_size, "%s", "out of memory for the archive check");
        return XBCRYPT_E_NOMEM;
    }
    xbcrypt_status rc = xb_tally_init(&c->tally, !(flags & XB_ARCHIVE_CHECK_NO_CRC), msg, msg_size);
    if (rc != XBCRYPT_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return XBCRYPT_OK;
}

static xbcrypt_status check_fail(xb_archive_check *c)
{
    const xbs_walk *w = c->tally.walk;
    if (c->status == XBCRYPT_OK) {
        c->status = xb_tally_status(xbs_walk_result(w));
        snprintf(c->msg, sizeof c->msg, "%s", xbs_walk_message(w));
    }
    return c->status;
}

xbcrypt_status xb_archive_check_feed(xb_archive_check *c, const void *buf, size_t len)
{
    if (!c || (!buf && len))
        return XBCRYPT_E_ARG;
    if (c->status != XBCRYPT_OK)
        return c->status;
    if (c->finished)
        return XBCRYPT_E_STATE;
    const uint8_t *p = buf;
    while (len) {
        xbs_event ev;
        size_t used;
        xbs_event_type t = xbs_walk_next(c->tally.walk, p, len, &used, &ev);
        p += used;
        len -= used;
        if (t == XBS_EV_ERROR)
            return check_fail(c);
        if (t != XBS_EV_MORE)
            xb_tally_event(&c->tally, &ev);
    }
    return XBCRYPT_OK;
}

xbcrypt_status xb_archive_check_finish(xb_archive_check *c)
{
    if (!c)
        return XBCRYPT_E_ARG;
    if (c->status != XBCRYPT_OK)
        return c->status;
    if (c->finished)
        return XBCRYPT_E_STATE;
    c->finished = true;
    /* Events still pending without input: the end of an empty payload. */
    xbs_event ev;
    size_t used;
    xbs_event_type t;
    while ((t = xbs_walk_next(c->tally.walk, NULL, 0, &used, &ev)) != XBS_EV_MORE) {
        if (t == XBS_EV_ERROR)
            return check_fail(c);
        xb_tally_event(&c->tally, &ev);
    }
    if (xbs_walk_end(c->tally.walk) != XBS_OK)
        return check_fail(c);
    return XBCRYPT_OK;
}

xbcrypt_status xb_archive_check_status(const xb_archive_check *c)
{
    return c ? c->status : XBCRYPT_E_ARG;
}

const char *xb_archive_check_message(const xb_archive_check *c)
{
    return c ? c->msg : "no archive check";
}

void xb_archive_check_summary(const xb_archive_check *c, xbcrypt_archive_summary *out)
{
    if (c)
        xb_tally_summary(&c->tally, out);
}

void xb_archive_check_free(xb_archive_check *c)
{
    if (!c)
        return;
    xb_tally_destroy(&c->tally);
    free(c);
}
