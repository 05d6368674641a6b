/* xb_archive_tally.c - the archive summary, the walker's CRC, statuses. */
#include "archive/xb_archive_tally.h"

#include "xb_msg.h"

#include <string.h>

static void crc_reset(void *ctx)
{
    xb_digest_reset(ctx);
}

static void crc_update(void *ctx, const void *buf, size_t len)
{
    xb_digest_crc(ctx, buf, len);
}

static uint32_t crc_final(void *ctx)
{
    return xb_digest_crc_final(ctx);
}

xbs_crc_ops xb_tally_crc_ops(xb_digest *d)
{
    return (xbs_crc_ops){.ctx = d, .reset = crc_reset, .update = crc_update, .final = crc_final};
}

static void hcrc_reset(void *ctx)
{
    struct xb_tally_crc *c = ctx;
    c->crc = 0;
    c->fresh = true;
}

static void hcrc_update(void *ctx, const void *buf, size_t len)
{
    struct xb_tally_crc *c = ctx;
    if (!len)
        return;
    uint32_t piece = xb_hasher_crc32(c->hasher, buf, len);
    c->crc = c->fresh ? piece : xbs_crc32_combine(c->crc, piece, len);
    c->fresh = false;
}

static void hcrc_fold(void *ctx, uint32_t crc, uint64_t len)
{
    struct xb_tally_crc *c = ctx;
    if (!len)
        return;
    c->crc = c->fresh ? crc : xbs_crc32_combine(c->crc, crc, len);
    c->fresh = false;
}

static uint32_t hcrc_final(void *ctx)
{
    const struct xb_tally_crc *c = ctx;
    return c->crc;
}

xbcrypt_status xb_tally_init(xb_tally *t, bool check_crc, char *msg, size_t msg_size)
{
    memset(t, 0, sizeof *t);
    xbs_crc_ops ops = {0};
    if (check_crc) {
        xbcrypt_status rc = xb_crypto_init(msg, msg_size);
        if (rc == XBCRYPT_OK)
            rc = xb_hasher_open(&t->crc.hasher);
        if (rc != XBCRYPT_OK) {
            xb_say(msg, msg_size, "%s", "cannot set up CRC-32 for the archive");
            return rc;
        }
        ops = (xbs_crc_ops){.ctx = &t->crc, .reset = hcrc_reset, .update = hcrc_update,
                            .final = hcrc_final, .fold = hcrc_fold};
    }
    t->walk = xbs_walk_new(check_crc ? &ops : NULL);
    if (!t->walk) {
        xb_hasher_close(t->crc.hasher);
        t->crc.hasher = NULL;
        xb_say(msg, msg_size, "%s", "out of memory for the archive walker");
        return XBCRYPT_E_NOMEM;
    }
    return XBCRYPT_OK;
}

void xb_tally_destroy(xb_tally *t)
{
    xbs_walk_free(t->walk);
    xb_hasher_close(t->crc.hasher);
    /* The checkpoints text may come from a decrypted member. */
    xb_wipe(t->cp_text, sizeof t->cp_text);
    memset(t, 0, sizeof *t);
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

bool xb_is_xbcrypt_name(const char *path, size_t plen)
{
    return ends_with(path, plen, ".xbcrypt");
}

bool xb_is_checkpoints(const char *path, size_t plen, bool *plain)
{
    static const char name[] = "xtrabackup_checkpoints";
    static const char *const suffixes[] = {".xbcrypt", ".qp", ".zst", ".lz4", ".qp.xbcrypt",
                                           ".zst.xbcrypt", ".lz4.xbcrypt"};
    const size_t n = sizeof name - 1;
    *plain = false;
    if (plen < n || memcmp(path, name, n) != 0)
        return false;
    if (plen == n) {
        *plain = true;
        return true;
    }
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (plen - n == strlen(suffixes[i]) && memcmp(path + n, suffixes[i], plen - n) == 0)
            return true;
    return false;
}

void xb_tally_checkpoints_text(xb_tally *t, const xbs_member *m, const void *buf, size_t len)
{
    if (t->cp_member && t->cp_member != m)
        return;
    t->cp_member = m;
    size_t room = sizeof t->cp_text - t->cp_len;
    size_t n = len < room ? len : room;
    memcpy(t->cp_text + t->cp_len, buf, n);
    t->cp_len += n;
}

void xb_tally_member_end(xb_tally *t, const xbs_member *m)
{
    bool plain;
    if (!xb_is_checkpoints(m->path, m->plen, &plain))
        return;
    t->checkpoints = true;
    if (t->cp_member == m && !t->backup_type[0])
        xbs_checkpoints_backup_type(t->cp_text, t->cp_len, t->backup_type,
                                    sizeof t->backup_type);
}

void xb_tally_event(xb_tally *t, const xbs_event *ev)
{
    xbs_member *m = ev->member;
    bool plain;
    switch (ev->type) {
    case XBS_EV_CHUNK:
    case XBS_EV_MEMBER_END:
        if (ev->opened && xb_is_xbcrypt_name(m->path, m->plen))
            t->encrypted++;
        if (ev->type == XBS_EV_MEMBER_END)
            xb_tally_member_end(t, m);
        break;
    case XBS_EV_DATA:
        if (xb_is_checkpoints(m->path, m->plen, &plain) && plain)
            xb_tally_checkpoints_text(t, m, ev->data, (size_t)ev->len);
        break;
    case XBS_EV_HOLE:
        if (xb_is_checkpoints(m->path, m->plen, &plain) && plain) {
            static const uint8_t zeros[64];
            for (uint64_t left = ev->len; left && t->cp_len < sizeof t->cp_text;) {
                size_t n = left < sizeof zeros ? (size_t)left : sizeof zeros;
                xb_tally_checkpoints_text(t, m, zeros, n);
                left -= n;
            }
        }
        break;
    default:
        break;
    }
}

xbcrypt_status xb_tally_status(xbs_result r)
{
    switch (r) {
    case XBS_OK: return XBCRYPT_OK;
    case XBS_BAD_MAGIC: return XBCRYPT_E_MAGIC;
    case XBS_PATH_TOO_LONG:
    case XBS_PATH_EMPTY:
    case XBS_PATH_ABSOLUTE:
    case XBS_PATH_DOTDOT:
    case XBS_PATH_NUL: return XBCRYPT_E_UNSAFE_PATH;
    case XBS_MAP_TOO_LONG: return XBCRYPT_E_LIMIT;
    case XBS_UNKNOWN_TYPE:
    case XBS_MAP_SUM:
    case XBS_OFFSET_OVERFLOW:
    case XBS_OUT_OF_ORDER:
    case XBS_AFTER_EOF: return XBCRYPT_E_ARCHIVE;
    case XBS_CRC: return XBCRYPT_E_CRC;
    case XBS_TRUNCATED: return XBCRYPT_E_TRUNCATED;
    case XBS_UNCLOSED: return XBCRYPT_E_UNCLOSED;
    case XBS_EMPTY: return XBCRYPT_E_EMPTY;
    case XBS_NOMEM: return XBCRYPT_E_NOMEM;
    }
    return XBCRYPT_E_ARCHIVE;
}

void xb_tally_summary(const xb_tally *t, xbcrypt_archive_summary *out)
{
    if (!out)
        return;
    xbcrypt_archive_summary s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    xbs_walk_counts c;
    xbs_walk_counts_get(t->walk, &c);
    s.bytes = c.bytes;
    s.chunks = c.chunks;
    s.members = c.members;
    s.members_open = c.open;
    s.encrypted = t->encrypted;
    s.verified = t->verified;
    s.ignored_chunks = c.ignored;
    s.sparse_chunks = c.sparse;
    s.checkpoints = t->checkpoints;
    memcpy(s.backup_type, t->backup_type, sizeof s.backup_type);
    s.in_chunk = xbs_walk_in_chunk(t->walk);
    size_t n = out->struct_size && out->struct_size < sizeof s ? out->struct_size : sizeof s;
    memcpy(out, &s, n);
    out->struct_size = n;
}
