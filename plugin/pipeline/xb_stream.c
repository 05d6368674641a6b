/* xb_stream.c - the parts of a stream the encoder and decoder share. */
#include "pipeline/xb_stream.h"

#include "key/xb_key.h"
#include "xb_engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void say(char *msg, size_t msg_size, const char *text)
{
    if (msg && msg_size)
        snprintf(msg, msg_size, "%s", text);
}

xbcrypt_status xb_stream_init(xb_stream *st, const xbcrypt_settings *s, xbcrypt_write_fn write,
                              void *opaque, bool need_cipher, size_t job_bytes,
                              xb_process_fn process, void *ctx, char *msg, size_t msg_size)
{
    memset(st, 0, sizeof *st);
    if (!s || s->struct_size < offsetof(xbcrypt_settings, chunk_opaque) + sizeof(void *)) {
        say(msg, msg_size, "settings were not filled by settings_default()");
        return XBCRYPT_E_ARG;
    }
    xbcrypt_status rc = xb_init();
    if (rc != XBCRYPT_OK) {
        say(msg, msg_size, "cannot initialise libgcrypt");
        return rc;
    }
    memcpy(&st->s, s, sizeof st->s);
    st->s.struct_size = sizeof st->s;
    st->write = write;
    st->opaque = opaque;
    st->stats.struct_size = sizeof st->stats;
    if (st->s.threads > XB_THREADS_MAX) {
        if (msg && msg_size)
            snprintf(msg, msg_size, "%u threads asked; at most %u", st->s.threads, XB_THREADS_MAX);
        return XBCRYPT_E_ARG;
    }

    if (need_cipher) {
        rc = xb_key_check(s->key, s->algo, msg, msg_size);
        if (rc != XBCRYPT_OK)
            return rc;
        st->ncipher = st->s.threads ? st->s.threads : 1;
        st->ciphers = calloc(st->ncipher, sizeof *st->ciphers);
        if (!st->ciphers) {
            xb_stream_destroy(st);
            return XBCRYPT_E_NOMEM;
        }
        for (unsigned i = 0; i < st->ncipher; i++) {
            rc = xb_cipher_open(&st->ciphers[i], s->key->bytes, s->key->len, msg, msg_size);
            if (rc != XBCRYPT_OK) {
                xb_stream_destroy(st);
                return rc;
            }
        }
    }

    /* pigz's bound: 2N+3 slots keep N workers busy while the producer
     * fills one and retires another. */
    unsigned nslots = 2 * st->s.threads + 3;
    rc = xb_pool_init(&st->pool, st->s.threads, nslots, process, ctx);
    if (rc != XBCRYPT_OK) {
        say(msg, msg_size, rc == XBCRYPT_E_THREAD ? "cannot start worker threads"
                                                  : "out of memory for the job ring");
        xb_stream_destroy(st);
        return rc;
    }
    for (unsigned i = 0; i < nslots && job_bytes; i++) {
        rc = xb_job_reserve(&st->pool.jobs[i], job_bytes);
        if (rc != XBCRYPT_OK) {
            say(msg, msg_size, "out of memory for chunk buffers");
            xb_stream_destroy(st);
            return rc;
        }
    }
    return XBCRYPT_OK;
}

void xb_stream_destroy(xb_stream *st)
{
    xb_pool_destroy(&st->pool); /* joins the workers before their ciphers go */
    for (unsigned i = 0; st->ciphers && i < st->ncipher; i++)
        xb_cipher_close(st->ciphers[i]);
    free(st->ciphers);
    st->ciphers = NULL;
    st->ncipher = 0;
}

xbcrypt_status xb_stream_fail(xb_stream *st, xbcrypt_status code, const char *fmt, ...)
{
    if (st->status != XBCRYPT_OK)
        return st->status;
    st->status = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->msg, sizeof st->msg, fmt, ap);
    va_end(ap);
    return code;
}

xbcrypt_status xb_stream_usable(xb_stream *st)
{
    if (st->status != XBCRYPT_OK)
        return st->status;
    if (st->finished)
        return XBCRYPT_E_STATE;
    return XBCRYPT_OK;
}

xbcrypt_status xb_stream_emit(xb_stream *st, const void *buf, size_t len, uint64_t index,
                              uint64_t offset)
{
    if (!st->write || len == 0)
        return XBCRYPT_OK;
    int err = st->write(st->opaque, buf, len);
    if (err == 0)
        return XBCRYPT_OK;
    st->write_err = err;
    return xb_stream_fail(st, XBCRYPT_E_WRITE,
                          "cannot write the output of chunk %llu (offset %llu): the write "
                          "callback failed (%d)",
                          (unsigned long long)index, (unsigned long long)offset, err);
}

void xb_stream_chunk_info(const xb_job *job, xbcrypt_chunk_info *info)
{
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->index = job->index;
    info->offset = job->offset;
    info->version = job->hdr.version;
    info->original_size = job->hdr.olen;
    info->encrypted_size = job->hdr.elen;
    info->iv_size = job->hdr.ivlen;
    memcpy(info->iv, job->iv, sizeof info->iv);
    info->plaintext_size = xb_header_plaintext_size(&job->hdr);
    info->crc = job->hdr.crc;
    info->hash_checked = job->hashed;
}

void xb_stream_stats(const xb_stream *st, xbcrypt_stats *out)
{
    if (!out)
        return;
    size_t n = out->struct_size && out->struct_size < sizeof *out ? out->struct_size : sizeof *out;
    memcpy(out, &st->stats, n);
    out->struct_size = n;
}
