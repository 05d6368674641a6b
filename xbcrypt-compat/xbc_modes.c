/* xbc_modes.c - --verify, --rekey and --info; see xbc_modes.h. */
#include "xbc_modes.h"
#include "xbc_archive.h"
#include "xbc_common.h"
#include "xbc_envelope.h"
#include "xbc_progress.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The versions of a versions_seen mask, in increasing order: with `sep`
 * ", " and `sep_last` " and ", "3", "1 and 3", "1, 2 and 3"; "" for none. */
static void versions_text(unsigned mask, char *out, size_t len, const char *sep,
                          const char *sep_last)
{
    unsigned n = 0, total = 0;
    for (unsigned v = 1; v <= 3; v++)
        total += (mask >> v) & 1u;
    out[0] = '\0';
    for (unsigned v = 1; v <= 3; v++) {
        if (!((mask >> v) & 1u))
            continue;
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%u", n == 0 ? "" : n + 1 == total ? sep_last : sep,
                 v);
        n++;
    }
}

/* What a run over one input shares: the fd, the decoder, the read loop. */
struct run {
    int in_fd;
    struct xbc_stream s;
    struct xbc_progress pg;
    struct xbc_pump p;
    xbcrypt_stats stats;
};

/* Makes the decoder over `set` (write NULL: verify only) and reads the
 * whole input through it. */
static xbcrypt_status decode_all(struct run *r, const struct xbc_options *o,
                                 const xbcrypt_settings *set, xbcrypt_write_fn write, void *opaque)
{
    xbcrypt_status st = xbc_stream_new(&r->s, set, write, opaque);
    if (st != XBCRYPT_OK)
        return st;
    /* --verify writes nothing; --info its listing; --rekey the stream
     * unless -o. */
    xbc_progress_start(&r->pg, o->progress, r->in_fd,
                       o->mode == XBC_MODE_INFO || (o->mode == XBC_MODE_REKEY && !o->output));
    r->p.fd = r->in_fd;
    r->p.verbose = o->verbose;
    r->p.progress = &r->pg;
    r->p.slice = xbc_map_slice(o->threads, o->chunk_size);
    st = xbc_pump(&r->s, &r->p);
    xbc_stream_stats(&r->s, &r->stats);
    return st;
}

static void run_end(struct run *r)
{
    xbc_stream_free(&r->s);
    if (r->in_fd != STDIN_FILENO)
        close(r->in_fd);
}

/* ---- --verify -------------------------------------------------------- */

/* "FILE: " for a stream message about --input, "" for standard input. */
static const char *in_prefix(const struct xbc_options *o, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", o->input ? o->input : "", o->input ? ": " : "");
    return buf;
}

void xbc_warn_downgrade(const struct xbc_options *o, const xbcrypt_stats *t, bool fatal)
{
    if (!t->downgrades)
        return;
    char pre[PATH_MAX + 3];
    xbc_say(fatal ? "error" : "warning",
            "%schunk %" PRIu64 " (offset %" PRIu64 ") is a version-1 or -2 chunk after "
            "version-3 chunks (%" PRIu64 " such chunk%s): no writer goes back to a legacy "
            "version, and legacy chunks carry only a CRC, which anyone can compute",
            in_prefix(o, pre, sizeof pre), t->first_downgrade_index, t->first_downgrade_offset,
            t->downgrades, t->downgrades == 1 ? "" : "s");
    hint("treat the file as tampered with%s%s",
         fatal ? "" : ": the data of those chunks is not authenticated",
         o->mode == XBC_MODE_INFO ? "" : "; --info lists the version of every chunk");
}

void xbc_crypt_done(const struct xbc_options *o, const xbcrypt_stats *t)
{
    if (o->decrypt) {
        xbc_warn_downgrade(o, t, false);
    } else if (t->plaintext_bytes == 0) {
        warning("the input was empty (0 bytes): the output is an empty backup, a stream of "
                "0 chunks");
        hint("a backup pipeline whose first command failed leaves an empty input: run it "
             "under 'set -o pipefail' and check its exit status");
    }
}

/* The chunk callback of --verify: keeps the first chunk whose olen
 * differs from its elen. */
struct verify_notes {
    uint64_t index, offset, olen, elen;
    bool mismatch;
};

static void verify_chunk(void *opaque, const xbcrypt_chunk_info *ci)
{
    struct verify_notes *vn = opaque;
    if (vn->mismatch || ci->original_size == ci->encrypted_size)
        return;
    *vn = (struct verify_notes){.index = ci->index, .offset = ci->offset,
                                .olen = ci->original_size, .elen = ci->encrypted_size,
                                .mismatch = true};
}

/*
 * After a stream that decrypted and verified: what still fails it.  An
 * empty input (what a failed upstream command leaves without pipefail), a
 * downgrade to legacy chunks (forgeable), or olen != elen (Percona's reader
 * refuses it).  Returns the exit status (0 when none).
 */
static int verify_refusals(const struct xbc_options *o, const struct run *r,
                           const struct verify_notes *vn)
{
    const xbcrypt_stats *t = &r->stats;
    char pre[PATH_MAX + 3];
    if (r->p.bytes_in == 0) {
        error("%s is empty (0 bytes): an empty stream is not a backup, and there is nothing "
              "to verify",
              o->input ? o->input : "standard input");
        hint("a backup pipeline whose first command failed leaves an empty file: run it under "
             "'set -o pipefail' and check its exit status");
        info("verify failed: the stream is empty");
        return 1;
    }
    xbc_warn_downgrade(o, t, true);
    if (vn->mismatch) {
        error("%schunk %" PRIu64 " (offset %" PRIu64 ") declares olen %" PRIu64 " but holds "
              "elen %" PRIu64 " (%" PRIu64 " such chunk%s): this xbcrypt restores it, but "
              "Percona's xbcrypt, and so xtrabackup --decrypt, refuses it",
              in_prefix(o, pre, sizeof pre), vn->index, vn->offset, vn->olen, vn->elen,
              t->size_mismatches, t->size_mismatches == 1 ? "" : "s");
        hint("no writer makes such a chunk: the header was changed; --info flags every one");
    }
    if (!t->downgrades && !vn->mismatch)
        return 0;
    info("verify failed: %" PRIu64 " chunk%s decrypted and checked here, but %s", t->chunks,
         t->chunks == 1 ? "" : "s",
         t->downgrades ? "the stream is not what a writer makes"
                       : "not every xbcrypt reader can restore the stream");
    return t->downgrades ? 1 : XBC_VERIFY_REFUSED;
}

int xbc_run_verify(const struct xbc_options *o)
{
    struct run r = {.in_fd = STDIN_FILENO, .s = {.decrypt = true}};
    struct verify_notes vn = {.mismatch = false};
    struct xbc_inner inner; /* the archive inside, if it is one */
    xbcrypt_key *key = NULL;
    int rc = 1;
    xbc_inner_init(&inner, NULL, NULL, true);
    const bool keyed = (o->key_file || o->wrapped_key_file) && o->algo != XBCRYPT_ALGO_NONE;

    if (xbc_start(o, &r.in_fd) != 0)
        goto out;
    if (keyed && !(key = xbc_envelope_or_key_file(o)))
        goto out;
    xbcrypt_settings set;
    xbc_settings(o, o->algo, key, &set);
    set.on_chunk = verify_chunk;
    set.chunk_opaque = &vn;
    if (o->verbose)
        info("verifying %s, %s, %u thread%s", o->input ? o->input : "standard input",
             keyed ? "with the key" : o->algo == XBCRYPT_ALGO_NONE ? "unencrypted (NONE)"
                                                                 : "without a key",
             o->threads, o->threads == 1 ? "" : "s");
    /* Without the key there is no plaintext, so no archive to follow. */
    const bool plain = keyed || o->algo == XBCRYPT_ALGO_NONE;
    xbcrypt_status st = decode_all(&r, o, &set, plain ? xbc_inner_write : NULL, &inner);
    if (!r.s.dec)
        goto out;
    double dt = xbc_now() - r.p.t0;
    if (xbc_report(o, &r.s, &r.p, st, "standard output") != 0) {
        info("verify failed: %" PRIu64 " chunk%s passed before the error", r.stats.chunks,
             r.stats.chunks == 1 ? "" : "s");
        goto out;
    }
    if (xbc_inner_end(&inner) != 0) {
        info("verify failed: all %" PRIu64 " chunks passed, the archive inside did not",
             r.stats.chunks);
        goto out;
    }
    if ((rc = verify_refusals(o, &r, &vn)) != 0)
        goto out;

    const xbcrypt_stats *t = &r.stats;
    char versions[32];
    versions_text(t->versions_seen, versions, sizeof versions, ", ", " and ");
    info("verify passed: %" PRIu64 " chunk%s%s%s, %" PRIu64 " plaintext bytes, %.3f s",
         t->chunks, t->chunks == 1 ? "" : "s",
         t->chunks ? (strchr(versions, ' ') ? " of format versions " : " of format version ") : "",
         versions, t->plaintext_bytes, dt);
    if (t->hashed_chunks == t->chunks)
        info("checked: structure, CRC-32 and SHA-256 of every chunk%s",
             keyed ? ", under the key" : " (NONE: stored unencrypted)");
    else if (!keyed && o->algo != XBCRYPT_ALGO_NONE)
        info("checked: structure and CRC-32 only; without --encrypt-key-file the data under "
             "the key (SHA-256) was not checked");
    else
        info("checked: structure and CRC-32 of every chunk, SHA-256 of %" PRIu64
             "; version-1 and -2 chunks carry no SHA-256, so for them the key itself could "
             "not be checked",
             t->hashed_chunks);
    xbc_inner_summary(&inner);
    rc = 0;
out:
    run_end(&r);
    xbc_inner_free(&inner);
    xb_key_free(key);
    return rc;
}

/* ---- --rekey --------------------------------------------------------- */

/* The decoder's write callback: verified plaintext of one chunk goes
 * straight into the encoder, and is not kept anywhere else. */
static int feed_encoder(void *opaque, const void *buf, size_t len)
{
    xbcrypt_status st = xb_encoder_feed(opaque, buf, len);
    return st == XBCRYPT_OK ? 0 : (int)st;
}

int xbc_rekey_keys(const struct xbc_options *o, xbcrypt_key **old_key, xbcrypt_key **new_key)
{
    if (o->algo != XBCRYPT_ALGO_NONE && !(*old_key = xbc_envelope_or_key_file(o)))
        return -1;
    if (!(*new_key = xbc_load_key(o->new_key_file, o->new_algo)))
        return -1;
    if (*old_key && xb_key_equal(*old_key, *new_key)) {
        error("--new-encrypt-key-file %s holds the same key as %s %s: re-encrypting under it "
              "would change nothing",
              o->new_key_file, o->key_file ? "--encrypt-key-file" : "--wrapped-key-file",
              o->key_file ? o->key_file : o->wrapped_key_file);
        hint("make a new key with: (umask 077; openssl rand -out NEWKEY 32)");
        return -1;
    }
    return 0;
}

int xbc_run_rekey(const struct xbc_options *o)
{
    struct run r = {.in_fd = STDIN_FILENO, .s = {.decrypt = true}};
    const char *out_name = o->output ? o->output : "standard output";
    struct xbc_stream enc = {.decrypt = false};
    xbcrypt_key *old_key = NULL, *new_key = NULL;
    struct xbc_sink sink = {.fd = -1, .written = 0};
    struct xbc_output out;
    char err[1024];
    int rc = 1;

    if (xbc_start(o, &r.in_fd) != 0)
        goto out;
    if (o->output && xbc_check_output(o->output) != 0)
        goto out;
    if (xbc_rekey_keys(o, &old_key, &new_key) != 0)
        goto out;
    xbcrypt_settings set;
    xbc_settings(o, o->new_algo, new_key, &set);
    if (xbc_stream_new(&enc, &set, xbc_sink_write, &sink) != XBCRYPT_OK)
        goto out;
    /* Last of all, so that nothing appears when an earlier step fails. */
    if (xbc_output_open(&out, o->output, 0666, err, sizeof err) != 0) {
        error("%s", err);
        goto out;
    }
    sink.fd = out.fd;
    if (o->verbose)
        info("re-encrypting %s to %s, %s to %s, %u thread%s each way, chunk size %" PRIu64,
             o->input ? o->input : "standard input", out_name, xbc_algo_name(o->algo),
             xbc_algo_name(o->new_algo), o->threads, o->threads == 1 ? "" : "s", o->chunk_size);

    xbc_settings(o, o->algo, old_key, &set);
    xbcrypt_status st = decode_all(&r, o, &set, feed_encoder, enc.enc);
    if (!r.s.dec) {
        xbc_output_abort(&out);
        goto out;
    }
    /* The encoder's own status: when it fails, the decoder only sees its
     * write callback refuse (E_WRITE), so the encoder's error is the one to
     * report. */
    xbcrypt_status est = xb_encoder_status(enc.enc);
    if (st == XBCRYPT_OK && !r.p.read_errno && est == XBCRYPT_OK)
        est = xb_encoder_finish(enc.enc);
    struct xbc_pump no_read = {.fd = r.in_fd};
    if (st == XBCRYPT_E_WRITE && est != XBCRYPT_OK)
        (void)xbc_report(o, &enc, &no_read, est, out_name);
    else if (xbc_report(o, &r.s, &r.p, st, out_name) == 0) {
        if (est != XBCRYPT_OK)
            (void)xbc_report(o, &enc, &no_read, est, out_name);
        else if (xbc_output_commit(&out, err, sizeof err) != 0)
            error("%s", err);
        else
            rc = 0;
    }
    if (rc != 0) {
        xbc_output_fail(&out, &sink, "encrypted", out_name);
        goto out;
    }

    xbcrypt_stats es;
    xbc_stream_stats(&enc, &es);
    xbc_warn_downgrade(o, &r.stats, false);
    if (r.stats.versions_seen & ((1u << 1) | (1u << 2))) {
        warning("the input has version-1 or -2 chunks, which carry no SHA-256: that "
                "--encrypt-key-file was the right old key could not be checked");
        hint("decrypt the output once with the new key and check the data");
    }
    if (o->verbose) {
        char versions[32];
        versions_text(r.stats.versions_seen, versions, sizeof versions, ", ", " and ");
        info("re-encrypted %" PRIu64 " chunks (format version %s) into %" PRIu64
             " version-3 chunks, %" PRIu64 " plaintext bytes, %.3f s",
             r.stats.chunks, r.stats.chunks ? versions : "-", es.chunks, es.plaintext_bytes,
             xbc_now() - r.p.t0);
    }
out:
    xbc_stream_free(&enc);
    run_end(&r);
    xb_key_free(old_key);
    xb_key_free(new_key);
    return rc;
}

/* ---- --info ---------------------------------------------------------- */

/* IVs seen, for the repeated-IV flag: open addressing, grown at half load.
 * Memory grows with the number of chunks (24 bytes a slot, at most 4 slots
 * per chunk: about 96 MiB for a 64 GiB stream of 64 KiB chunks); when it
 * cannot grow, the check stops and says so. */
struct iv_slot {
    uint8_t iv[16];
    uint64_t first; /* index of the first chunk with this IV, + 1 (0: empty) */
};

struct iv_set {
    struct iv_slot *slot;
    size_t cap; /* a power of two, or 0 */
    size_t used;
    bool gave_up;
};

static uint64_t iv_hash(const uint8_t iv[16])
{
    uint64_t a, b;
    memcpy(&a, iv, 8);
    memcpy(&b, iv + 8, 8);
    uint64_t x = a ^ (b * 0x9e3779b97f4a7c15u);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 29;
    return x;
}

static struct iv_slot *iv_find(struct iv_slot *slot, size_t cap, const uint8_t iv[16])
{
    size_t i = (size_t)iv_hash(iv) & (cap - 1);
    while (slot[i].first && memcmp(slot[i].iv, iv, 16) != 0)
        i = (i + 1) & (cap - 1);
    return &slot[i];
}

static bool iv_grow(struct iv_set *set)
{
    size_t cap = set->cap ? set->cap * 2 : 1024;
    if (cap > SIZE_MAX / sizeof *set->slot)
        return false;
    struct iv_slot *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return false;
    for (size_t i = 0; i < set->cap; i++)
        if (set->slot[i].first)
            *iv_find(slot, cap, set->slot[i].iv) = set->slot[i];
    free(set->slot);
    set->slot = slot;
    set->cap = cap;
    return true;
}

/* Adds the IV of chunk `index`; returns the index of an earlier chunk with
 * the same IV, or `index` when it is new (or the set gave up). */
static uint64_t iv_add(struct iv_set *set, const uint8_t iv[16], uint64_t index)
{
    if (set->gave_up)
        return index;
    if ((set->used + 1) * 2 > set->cap && !iv_grow(set)) {
        set->gave_up = true;
        return index;
    }
    struct iv_slot *s = iv_find(set->slot, set->cap, iv);
    if (s->first)
        return s->first - 1;
    memcpy(s->iv, iv, 16);
    s->first = index + 1;
    set->used++;
    return index;
}

struct info {
    bool verbose;
    struct iv_set ivs;
    uint64_t repeated_ivs;
    uint64_t size_mismatches;
    uint64_t gave_up_at; /* chunk index where the IV check stopped */
    uint64_t flags;
};

static void hex(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The chunk callback: one line per chunk, in stream order, and its flags. */
static void info_chunk(void *opaque, const xbcrypt_chunk_info *ci)
{
    struct info *in = opaque;
    size_t ivn = ci->iv_size < 16 ? (size_t)ci->iv_size : 16;
    char ivhex[33];
    hex(ivhex, ci->iv, ivn);
    printf("chunk index=%" PRIu64 " offset=%" PRIu64 " version=%u olen=%" PRIu64
           " elen=%" PRIu64 " ivlen=%" PRIu64,
           ci->index, ci->offset, ci->version, ci->original_size, ci->encrypted_size,
           ci->iv_size);
    if (in->verbose)
        printf(" iv=%s", ivn ? ivhex : "-");
    putchar('\n');
    if (ci->original_size != ci->encrypted_size) {
        printf("flag size-mismatch index=%" PRIu64 " offset=%" PRIu64 " olen=%" PRIu64
               " elen=%" PRIu64 "\n",
               ci->index, ci->offset, ci->original_size, ci->encrypted_size);
        in->size_mismatches++;
        in->flags++;
    }
    /* Only version 3 counts from its IV: versions 1 and 2 start every chunk
     * from a zero counter whatever they store. */
    if (ci->version == 3 && ci->iv_size == 16) {
        bool had = in->ivs.gave_up;
        uint64_t first = iv_add(&in->ivs, ci->iv, ci->index);
        if (!had && in->ivs.gave_up)
            in->gave_up_at = ci->index;
        if (first != ci->index) {
            printf("flag repeated-iv index=%" PRIu64 " offset=%" PRIu64 " first=%" PRIu64
                   " iv=%s\n",
                   ci->index, ci->offset, first, ivhex);
            in->repeated_ivs++;
            in->flags++;
        }
    }
}

/*
 * The length of what follows a stream's last chunk at `offset`, without
 * reading it: the tail of a pipe or a device may never end.  Known for a
 * regular file (from its size and position, `bytes_in` having been read
 * from it); -1 otherwise.
 */
static int64_t rest_length(int fd, uint64_t bytes_in, uint64_t offset)
{
    struct stat sb;
    off_t pos = lseek(fd, 0, SEEK_CUR);
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || pos < 0 || (uint64_t)pos < bytes_in)
        return -1;
    uint64_t end = (uint64_t)sb.st_size, start = (uint64_t)pos - bytes_in;
    return end >= start + offset ? (int64_t)(end - start - offset) : -1;
}

/*
 * An engine error in --info: trailing bytes (bad magic after at least one
 * chunk) and a size field above INT_MAX are flagged oddities, on stdout;
 * anything else is an error, on stderr.  Returns true when flagged.
 */
static bool info_flag_error(struct run *r, struct info *in, xbcrypt_status st)
{
    const uint64_t index = r->stats.chunks, offset = r->stats.encrypted_bytes;
    if (st == XBCRYPT_E_MAGIC && index > 0) {
        /* The listing stops at the first bad bytes: what follows is not
         * read, so that an endless tail cannot hold it back. */
        int64_t len = rest_length(r->in_fd, r->p.bytes_in, offset);
        char len_text[24] = "-";
        if (len >= 0)
            snprintf(len_text, sizeof len_text, "%" PRId64, len);
        printf("flag trailing-bytes offset=%" PRIu64 " length=%s\n", offset, len_text);
        fflush(stdout);
        if (len >= 0)
            warning("trailing bytes at offset %" PRIu64 " (%" PRId64 " bytes after chunk %" PRIu64
                    "): not an xbcrypt chunk header; garbage after the stream, or a damaged "
                    "header",
                    offset, len, index - 1);
        else
            warning("trailing bytes at offset %" PRIu64 " (after chunk %" PRIu64 "): not an "
                    "xbcrypt chunk header; garbage after the stream, or a damaged header; the "
                    "listing stops there and the rest of the input was not read",
                    offset, index - 1);
        in->flags++;
        return true;
    }
    xbcrypt_chunk_info f = {.struct_size = sizeof f};
    if (st == XBCRYPT_E_LIMIT && xb_decoder_fault(r->s.dec, &f) &&
        (f.original_size > INT_MAX || f.encrypted_size > INT_MAX || f.iv_size > INT_MAX)) {
        const char *field = f.original_size > INT_MAX    ? "olen"
                            : f.encrypted_size > INT_MAX ? "elen"
                                                         : "ivlen";
        uint64_t value = f.original_size > INT_MAX    ? f.original_size
                         : f.encrypted_size > INT_MAX ? f.encrypted_size
                                                      : f.iv_size;
        printf("flag size-over-int-max index=%" PRIu64 " offset=%" PRIu64 " field=%s olen=%" PRIu64
               " elen=%" PRIu64 " ivlen=%" PRIu64 "\n",
               f.index, f.offset, field, f.original_size, f.encrypted_size, f.iv_size);
        fflush(stdout);
        warning("chunk %" PRIu64 " (offset %" PRIu64 ") declares %s %" PRIu64 ", above INT_MAX: "
                "xbcrypt readers refuse it, and the listing stops there",
                f.index, f.offset, field, value);
        in->flags++;
        return true;
    }
    return false;
}

int xbc_run_info(const struct xbc_options *o)
{
    struct run r = {.in_fd = STDIN_FILENO, .s = {.decrypt = true}};
    struct info in = {.verbose = o->verbose};
    int rc = XBC_INFO_ERROR;

    if (xbc_start(o, &r.in_fd) != 0)
        goto out;
    xbcrypt_settings set;
    /* No key and no output: structure and CRCs, whatever -a says. */
    xbc_settings(o, XBCRYPT_ALGO_AES256, NULL, &set);
    set.on_chunk = info_chunk;
    set.chunk_opaque = &in;
    printf("# xbcrypt --info: chunk index offset version olen elen ivlen%s\n",
           o->verbose ? " iv" : "");
    xbcrypt_status st = decode_all(&r, o, &set, NULL, NULL);
    if (!r.s.dec)
        goto out;
    /* The listing so far comes before any message about it. */
    fflush(stdout);
    if (r.stats.downgrades) {
        printf("flag downgrade index=%" PRIu64 " offset=%" PRIu64 " chunks=%" PRIu64 "\n",
               r.stats.first_downgrade_index, r.stats.first_downgrade_offset,
               r.stats.downgrades);
        fflush(stdout);
        xbc_warn_downgrade(o, &r.stats, false);
        in.flags++;
    }

    /* The exit status, and its name on the summary line. */
    static const char *const status_name[] = {
        [XBC_INFO_OK] = "ok", [XBC_INFO_ERROR] = "error", [XBC_INFO_FLAGGED] = "flagged"};
    int status = XBC_INFO_OK;
    bool flagged_stop = st != XBCRYPT_OK && !r.p.read_errno && info_flag_error(&r, &in, st);
    if (!flagged_stop && xbc_report(o, &r.s, &r.p, st, "standard output") != 0)
        status = XBC_INFO_ERROR;
    else if (in.flags)
        status = XBC_INFO_FLAGGED;
    if (in.ivs.gave_up) {
        printf("note repeated-iv-check-stopped index=%" PRIu64 "\n", in.gave_up_at);
        warning("out of memory for the IV check: IVs from chunk %" PRIu64 " on were not "
                "compared",
                in.gave_up_at);
    }

    char versions[32];
    versions_text(r.stats.versions_seen, versions, sizeof versions, ",", ",");
    printf("summary chunks=%" PRIu64 " stream_bytes=%" PRIu64 " plaintext_bytes=%" PRIu64
           " versions=%s size_mismatches=%" PRIu64 " repeated_ivs=%" PRIu64
           " flags=%" PRIu64 " checked=structure,crc status=%s\n",
           r.stats.chunks, r.stats.encrypted_bytes, r.stats.plaintext_bytes,
           versions[0] ? versions : "-", in.size_mismatches, in.repeated_ivs, in.flags,
           status_name[status]);
    if (in.flags)
        warning("%" PRIu64 " odd thing%s flagged: see the 'flag' lines", in.flags,
                in.flags == 1 ? "" : "s");
    if (fflush(stdout) != 0 || ferror(stdout)) {
        error("writing standard output failed");
        goto out;
    }
    rc = status;
out:
    free(in.ivs.slot);
    run_end(&r);
    return rc;
}
