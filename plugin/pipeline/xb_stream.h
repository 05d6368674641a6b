/*
 * xb_stream.h - what the encoder and decoder share: settings, the job
 * ring, one cipher handle per worker, the first error and its message,
 * the output callback and the totals.
 *
 * Every field is owned by the producer thread (the caller of the public
 * functions), except the cipher handles: ciphers[w] is used only by worker
 * w while it processes a job.
 */
#ifndef XB_STREAM_H
#define XB_STREAM_H

#include "crypto/xb_crypto.h"
#include "pipeline/xb_pipeline.h"

#include <xbcrypt/xbcrypt.h>

#include <stdbool.h>
#include <stddef.h>

#define XB_MSG_SIZE 320
#define XB_THREADS_MAX 256u

typedef struct xb_stream {
    xbcrypt_settings s;      /* copy of the caller's settings */
    xbcrypt_write_fn write;
    void *opaque;
    xb_cipher **ciphers;     /* max(threads, 1) handles, or NULL without a cipher */
    unsigned ncipher;
    xb_pool pool;
    xbcrypt_status status;   /* first error; XBCRYPT_OK while healthy */
    char msg[XB_MSG_SIZE];
    int write_err;           /* what the write callback returned when it failed */
    bool finished;
    xbcrypt_stats stats;
} xb_stream;

/*
 * Validates and copies the settings, opens the ciphers (when `need_cipher`),
 * starts the pool.  `what` ("encoder"/"decoder") prefixes messages.  On
 * failure the message is in msg and nothing needs freeing but the struct.
 */
xbcrypt_status xb_stream_init(xb_stream *st, const xbcrypt_settings *s, xbcrypt_write_fn write,
                              void *opaque, bool need_cipher, size_t job_bytes,
                              xb_process_fn process, void *ctx, char *msg, size_t msg_size);
void xb_stream_destroy(xb_stream *st);

/* Records the first error (later ones are dropped); returns st->status. */
xbcrypt_status xb_stream_fail(xb_stream *st, xbcrypt_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Entry check of every public call: the stored error, or E_STATE after
 * finish. */
xbcrypt_status xb_stream_usable(xb_stream *st);

/* Hands `len` bytes to the write callback; E_WRITE on refusal, with a
 * message naming chunk `index` and stream `offset`. */
xbcrypt_status xb_stream_emit(xb_stream *st, const void *buf, size_t len, uint64_t index,
                              uint64_t offset);

/* Fills the public info for a retired job. */
void xb_stream_chunk_info(const xb_job *job, xbcrypt_chunk_info *info);

/* Copies the totals out, honouring the caller's struct_size. */
void xb_stream_stats(const xb_stream *st, xbcrypt_stats *out);

#endif /* XB_STREAM_H */
