/* xbc_archive.c - XBSTREAM archives in the xbcrypt drop-in; see xbc_archive.h. */
#include "xbc_archive.h"
#include "xbc_common.h"
#include "xbc_envelope.h"
#include "xbc_modes.h"
#include "xbc_output.h"
#include "xbc_progress.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the inner check --------------------------------------------------- */

void xbc_inner_init(struct xbc_inner *in, xbcrypt_write_fn next, void *next_opaque, bool crc)
{
    memset(in, 0, sizeof *in);
    in->next = next;
    in->next_opaque = next_opaque;
    in->crc = crc;
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
                xb_archive_check_new(in->crc ? 0 : XB_ARCHIVE_CHECK_NO_CRC, &in->check,
                                     in->msg, sizeof in->msg) == XBCRYPT_OK)
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

#define READ_SIZE ((size_t)1 << 20)
#define REPORT_STEP ((uint64_t)100 << 20) /* -v: a line per 100 MiB read */

/* The member-level run: what the callbacks and the read loop share. */
struct arun {
    const struct xbc_options *o;
    xbcrypt_archive *a;
    struct xbc_sink sink;
    struct xbc_progress pg;
    uint64_t bytes_in;
    int read_errno;
    double t0;
    struct xbc_map map;  /* the input, when mapped; unmapped after the transform is freed */
    uint64_t map_size;   /* bytes mapped */
    bool shrank;         /* the mapped file ended sooner */
    uint64_t next_report;
};

/* A path for a name=value line: bytes outside printable ASCII, space, '='
 * and '\' as \xHH, so that a line always splits on spaces. */
static void quote_path(char *out, size_t size, const char *path)
{
    static const char digits[] = "0123456789abcdef";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)path; *p && n + 5 < size; p++) {
        if (*p > 0x20 && *p < 0x7f && *p != '=' && *p != '\\') {
            out[n++] = (char)*p;
            continue;
        }
        out[n++] = '\\';
        out[n++] = 'x';
        out[n++] = digits[*p >> 4];
        out[n++] = digits[*p & 15];
    }
    out[n] = '\0';
}

static void on_member(void *opaque, const xbcrypt_member_info *mi)
{
    const struct arun *r = opaque;
    if (r->o->mode != XBC_MODE_INFO && !r->o->verbose)
        return;
    char path[4 * 512 + 8];
    quote_path(path, sizeof path, mi->path ? mi->path : "");
    if (r->o->mode == XBC_MODE_INFO)
        printf("member path=%s bytes=%" PRIu64 " chunks=%" PRIu64 " encrypted=%s closed=%s\n",
               path, mi->bytes, mi->chunks, mi->encrypted ? "yes" : "no",
               mi->closed ? "yes" : "no");
    else
        info("member %s: %" PRIu64 " bytes in %" PRIu64 " archive chunk%s%s%s", path, mi->bytes,
             mi->chunks, mi->chunks == 1 ? "" : "s", mi->encrypted ? ", encrypted" : "",
             mi->closed ? "" : ", never closed");
}

static void archive_progress(void *opaque, uint64_t bytes)
{
    struct arun *r = opaque;
    r->bytes_in = bytes;
    xbc_progress_update(&r->pg, r->bytes_in);
    if (r->o->verbose && r->bytes_in >= r->next_report) {
        info("%" PRIu64 " MiB read, %.1f s", r->bytes_in >> 20, xbc_now() - r->t0);
        while (r->next_report <= r->bytes_in)
            r->next_report += REPORT_STEP;
    }
}

static xbcrypt_status lend_to_archive(void *obj, const void *buf, size_t len)
{
    return xb_archive_feed_shared(obj, buf, len);
}

/* A regular file, when the workers take every CPU: mapped and lent to the
 * transform (xbc_mapped.h).  Then the fd stands past what was mapped, for
 * the read loop to take what the file grew by. */
static xbcrypt_status archive_lend(struct arun *r, int fd)
{
    const size_t slice = xbc_map_slice(r->o->threads, r->o->chunk_size);
    struct stat fst;
    off_t start;
    if (!slice || fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode) ||
        (start = lseek(fd, 0, SEEK_CUR)) < 0 || fst.st_size <= start ||
        xbc_map_open(&r->map, fd, (uint64_t)start, (uint64_t)(fst.st_size - start)) != 0)
        return XBCRYPT_OK;
    r->map_size = (uint64_t)(fst.st_size - start);
    xbcrypt_status st = xbc_map_lend(&r->map, fd, (uint64_t)start, slice, lend_to_archive, r->a,
                                     archive_progress, r, &r->bytes_in, &r->shrank);
    if (st == XBCRYPT_OK && !r->shrank && lseek(fd, fst.st_size, SEEK_SET) < 0)
        r->read_errno = errno;
    return st;
}

/* Reads the input to its end into the transform, then finishes it. */
static xbcrypt_status archive_pump(struct arun *r, int fd)
{
    static unsigned char buf[READ_SIZE];
    r->t0 = xbc_now();
    r->next_report = REPORT_STEP;
    xbcrypt_status st = archive_lend(r, fd);
    while (st == XBCRYPT_OK && !r->shrank && !r->read_errno) {
        ssize_t n;
        do
            n = read(fd, buf, sizeof buf);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            r->read_errno = errno;
            break;
        }
        if (n == 0) {
            st = xb_archive_finish(r->a);
            break;
        }
        if ((st = xb_archive_feed(r->a, buf, (size_t)n)) != XBCRYPT_OK)
            break;
        archive_progress(r, r->bytes_in + (uint64_t)n);
    }
    xbc_progress_finish(&r->pg);
    return st;
}

/* What to do about a failed archive run. */
static void archive_hint(xbcrypt_status st, const xbcrypt_archive_summary *sum)
{
    switch (st) {
    case XBCRYPT_E_ENCRYPTED:
        hint("that member is encrypted already: re-encrypt such an archive under a new key with "
             "--xbstream --rekey, or decrypt it with --xbstream -d");
        break;
    case XBCRYPT_E_UNSAFE_PATH:
        hint("no backup tool writes such a path: the archive is damaged or was made to write "
             "outside the target directory; do not extract it");
        break;
    case XBCRYPT_E_UNCLOSED:
    case XBCRYPT_E_TRUNCATED:
        hint("the archive is incomplete: was a copy, an upload or the backup interrupted?");
        break;
    case XBCRYPT_E_EMPTY:
        hint("the input is empty: an archive has at least one chunk");
        break;
    case XBCRYPT_E_MAGIC:
        if (sum->chunks == 0)
            hint("the input is not an XBSTREAM archive: a whole-stream XBCRYPT file is "
                 "decrypted without --xbstream");
        else
            hint("the archive is damaged there");
        break;
    case XBCRYPT_E_WRONG_KEY:
        hint("check that --encrypt-key-file holds the key the members were encrypted with; if "
             "it does, that member is damaged");
        break;
    case XBCRYPT_E_CRC:
    case XBCRYPT_E_HASH:
    case XBCRYPT_E_ARCHIVE:
    case XBCRYPT_E_LIMIT:
        hint("the archive is damaged there");
        break;
    default:
        break;
    }
}

/* After the read loop: prints what went wrong, if anything.  0 when the
 * whole archive went through. */
static int archive_report(const struct arun *r, xbcrypt_status st, const char *out_name,
                          const xbcrypt_archive_summary *sum)
{
    const struct xbc_options *o = r->o;
    if (r->shrank) {
        xbc_say_shrank(o->input ? o->input : "standard input", r->map_size, r->bytes_in);
        return -1;
    }
    if (r->read_errno) {
        error("reading %s at byte %" PRIu64 ": %s", o->input ? o->input : "standard input",
              r->bytes_in, strerror(r->read_errno));
        return -1;
    }
    if (st == XBCRYPT_OK)
        return 0;
    if (st == XBCRYPT_E_WRITE) {
        int werr = xb_archive_write_error(r->a);
        error("writing %s: %s (archive byte %" PRIu64 " of the input)", out_name,
              werr > 0 ? strerror(werr) : "the write failed", sum->bytes);
        return -1;
    }
    const char *msg = xb_archive_message(r->a);
    if (o->input)
        error("%s: %s", o->input, msg[0] ? msg : xb_status_name(st));
    else
        error("%s", msg[0] ? msg : xb_status_name(st));
    archive_hint(st, sum);
    return -1;
}

/* XBCRYPT chunks of members that carried no SHA-256 (versions 1 and 2),
 * among those decrypted under the key. */
static uint64_t unhashed_chunks(const struct arun *r)
{
    xbcrypt_stats st = {.struct_size = sizeof st};
    xb_archive_stats(r->a, &st);
    return st.chunks > st.hashed_chunks ? st.chunks - st.hashed_chunks : 0;
}

/* --xbstream --verify: the summary on stderr. */
static void verify_summary(const struct arun *r, const xbcrypt_archive_summary *sum, bool keyed)
{
    char verified[64] = "";
    if (keyed && sum->encrypted)
        snprintf(verified, sizeof verified, " (%" PRIu64 " verified under the key)",
                 sum->verified);
    info("verify passed: %" PRIu64 " member%s, %" PRIu64 " encrypted%s, %" PRIu64
         " archive chunks, %" PRIu64 " bytes, %.3f s",
         sum->members, sum->members == 1 ? "" : "s", sum->encrypted, verified, sum->chunks,
         sum->bytes, xbc_now() - r->t0);
    const char *structure = "checked: archive structure and CRC-32 of every chunk, every member "
                            "closed, safe paths";
    if (sum->encrypted == 0)
        info("%s (no member is encrypted)", structure);
    else if (keyed)
        info("%s; every encrypted member under the key", structure);
    else
        info("%s; encrypted members: structure and CRC-32 only, without --encrypt-key-file the "
             "data under the key (SHA-256) was not checked",
             structure);
    uint64_t legacy = keyed ? unhashed_chunks(r) : 0;
    if (legacy)
        warning("%" PRIu64 " XBCRYPT chunk%s of version 1 or 2 carry no SHA-256: for them the "
                "key itself could not be checked, only their CRC-32",
                legacy, legacy == 1 ? "" : "s");
    if (sum->ignored_chunks)
        warning("%" PRIu64 " ignorable chunk%s of unknown type skipped", sum->ignored_chunks,
                sum->ignored_chunks == 1 ? "" : "s");
    if (sum->checkpoints)
        info("backup: xtrabackup_checkpoints present%s%s",
             sum->backup_type[0] ? ", backup_type = " : "", sum->backup_type);
    else
        warning("no xtrabackup_checkpoints member: this archive did not come from a finished "
                "backup");
}

/* --xbstream --info: the summary line on stdout. */
static void info_summary(const xbcrypt_archive_summary *sum, bool ok)
{
    printf("summary members=%" PRIu64 " encrypted=%" PRIu64 " unclosed=%" PRIu64
           " chunks=%" PRIu64 " archive_bytes=%" PRIu64 " ignored_chunks=%" PRIu64
           " checkpoints=%s backup_type=%s status=%s\n",
           sum->members, sum->encrypted, sum->members_open, sum->chunks, sum->bytes,
           sum->ignored_chunks, sum->checkpoints ? "yes" : "no",
           sum->backup_type[0] ? sum->backup_type : "-", ok ? "ok" : "error");
}

/* The keys of a run: *key (NULL for NONE, or --verify without -f) and, for
 * --rekey, *new_key.  0, or -1 after printing why. */
static int archive_keys(const struct xbc_options *o, struct xbc_envelope *env, xbcrypt_key **key,
                        xbcrypt_key **new_key)
{
    if (o->mode == XBC_MODE_REKEY)
        return xbc_rekey_keys(o, key, new_key);
    if (o->mode == XBC_MODE_INFO || o->algo == XBCRYPT_ALGO_NONE)
        return 0;
    if (o->mode == XBC_MODE_VERIFY && !o->key_file && !o->wrapped_key_file)
        return 0;
    if (o->mode == XBC_MODE_CRYPT && !o->decrypt && o->wrapped_key_file)
        *key = xbc_envelope_key(o, env); /* creates the wrapped-key file */
    else
        *key = xbc_envelope_or_key_file(o);
    return *key ? 0 : -1;
}

static xbcrypt_archive_mode archive_mode(const struct xbc_options *o)
{
    switch (o->mode) {
    case XBC_MODE_VERIFY:
        return XBCRYPT_ARCHIVE_VERIFY;
    case XBC_MODE_REKEY:
        return XBCRYPT_ARCHIVE_REKEY;
    case XBC_MODE_INFO:
        return XBCRYPT_ARCHIVE_INFO;
    default:
        return o->decrypt ? XBCRYPT_ARCHIVE_DECRYPT : XBCRYPT_ARCHIVE_ENCRYPT;
    }
}

int xbc_run_archive(const struct xbc_options *o)
{
    const bool writes = o->mode != XBC_MODE_VERIFY && o->mode != XBC_MODE_INFO;
    const char *out_name = o->output ? o->output : "standard output";
    struct arun r = {.o = o, .sink = {.fd = -1, .written = 0}};
    struct xbc_envelope env = {.created = NULL};
    xbcrypt_key *key = NULL, *new_key = NULL;
    struct xbc_output out;
    bool out_open = false, partial = false;
    int in_fd = STDIN_FILENO, rc = 1;
    char msg[1024] = "";

    if (xbc_start(o, &in_fd) != 0)
        goto done;
    if (o->output && xbc_check_output(o->output) != 0)
        goto done;
    if (archive_keys(o, &env, &key, &new_key) != 0)
        goto done;

    xbcrypt_archive_settings set;
    xb_archive_settings_default(&set);
    set.mode = archive_mode(o);
    set.algo = o->mode == XBC_MODE_REKEY ? o->new_algo : o->algo;
    set.key = key;
    set.new_key = new_key;
    set.chunk_size = (size_t)o->chunk_size;
    set.threads = o->threads;
    set.on_member = on_member;
    set.member_opaque = &r;
    xbcrypt_status st = xb_archive_new(&set, writes ? xbc_sink_write : NULL, &r.sink, &r.a, msg,
                                       sizeof msg);
    if (st != XBCRYPT_OK) {
        error("%s", msg[0] ? msg : xb_status_name(st));
        goto done;
    }
    if (writes) {
        /* Last of all, so that nothing appears when an earlier step fails. */
        if (xbc_output_open(&out, o->output, o->decrypt ? 0600 : 0666, msg, sizeof msg) != 0) {
            error("%s", msg);
            goto done;
        }
        out_open = true;
        r.sink.fd = out.fd;
    }
    if (o->mode == XBC_MODE_INFO)
        printf("# xbcrypt --xbstream --info: member path bytes chunks encrypted closed\n");
    xbc_progress_start(&r.pg, o->progress, in_fd,
                       o->mode == XBC_MODE_INFO || (writes && !o->output));
    st = archive_pump(&r, in_fd);
    xbcrypt_archive_summary sum = {.struct_size = sizeof sum};
    xb_archive_summary(r.a, &sum);
    int failed = archive_report(&r, st, out_name, &sum);

    if (o->mode == XBC_MODE_INFO) {
        info_summary(&sum, failed == 0);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            error("writing standard output failed");
            failed = -1;
        }
    } else if (o->mode == XBC_MODE_VERIFY) {
        if (failed)
            info("verify failed: nothing after that error was checked");
        else
            verify_summary(&r, &sum, key != NULL);
    } else if (!failed && xbc_output_commit(&out, msg, sizeof msg) != 0) {
        error("%s", msg);
        failed = -1;
    }
    if (failed && out_open) {
        partial = out.direct && r.sink.written > 0;
        xbc_output_fail(&out, &r.sink, o->decrypt ? "plaintext" : "archive", out_name);
    } else if (!failed && o->mode == XBC_MODE_REKEY && unhashed_chunks(&r)) {
        warning("members hold version-1 or -2 chunks, which carry no SHA-256: that "
                "--encrypt-key-file was the right old key could not be checked");
        hint("decrypt the output once with the new key and check the data");
    }
    if (!failed && writes && o->verbose) {
        double dt = xbc_now() - r.t0;
        if (o->mode == XBC_MODE_CRYPT && !o->decrypt)
            info("encrypted %" PRIu64 " member%s into NAME.xbcrypt members", sum.members,
                 sum.members == 1 ? "" : "s");
        else
            info("%s %" PRIu64 " encrypted member%s of %" PRIu64 "; the others passed unchanged",
                 o->decrypt ? "decrypted" : "re-encrypted", sum.encrypted,
                 sum.encrypted == 1 ? "" : "s", sum.members);
        info("%" PRIu64 " archive bytes in, %" PRIu64 " out, %.3f s, %.1f MB/s", sum.bytes,
             r.sink.written, dt, dt > 0 ? (double)sum.bytes / 1e6 / dt : 0.0);
    }
    rc = failed ? 1 : 0;
done:
    xbc_envelope_end(&env, rc == 0 || partial);
    xb_archive_free(r.a);
    xbc_map_close(&r.map); /* only now: the workers read it until the transform is freed */
    xb_key_free(key);
    xb_key_free(new_key);
    if (in_fd != STDIN_FILENO)
        close(in_fd);
    return rc;
}
