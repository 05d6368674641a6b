/*
 * xb_engine.h - the engine's internal API.
 *
 * This is the one header the CLI (xbcrypt-compat/) and the tests include to
 * reach the engine; they never include anything under plugin/format,
 * plugin/crypto, plugin/key or plugin/pipeline.  The functions are the ones
 * the shared object exports through its table (include/xbcrypt/xbcrypt.h
 * documents each of them: ownership, return codes, threads, NULL), plus a
 * zero-copy input path that the CLI uses to read straight into job buffers.
 *
 * All symbols here have hidden visibility in the shared object.
 */
#ifndef XB_ENGINE_H
#define XB_ENGINE_H

#include <xbcrypt/xbcrypt.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

unsigned xb_version_number(void);
const char *xb_version_string(void);
xbcrypt_status xb_init(void);
/* xb_init() that says why it failed in msg (e.g. libgcrypt too old). */
xbcrypt_status xb_init_msg(char *msg, size_t msg_size);
/* After init: NULL while keys are held in locked memory, else a sentence
 * saying they are not and how to raise the memlock limit (for the one
 * warning a tool shows when it holds a key). */
const char *xb_secure_memory_warning(void);
void xb_cleanup(void);
const char *xb_status_name(xbcrypt_status status);
void xb_settings_default(xbcrypt_settings *s);

/* Keys: see xbcrypt_api.key_*.  key_from_file refuses a directory. */
xbcrypt_status xb_key_from_file(const char *path, xbcrypt_key **out, char *msg, size_t msg_size);
xbcrypt_status xb_key_from_fd(int fd, xbcrypt_key **out, char *msg, size_t msg_size);
xbcrypt_status xb_key_from_bytes(const void *bytes, size_t len, xbcrypt_key **out, char *msg,
                                 size_t msg_size);
size_t xb_key_size(const xbcrypt_key *key);
void xb_key_free(xbcrypt_key *key);
/*
 * Checks that `key` can be used with `algo` (AES: 16, 24 or 32 bytes).  On
 * failure writes an explanation to msg; when the key is one byte too long
 * and ends in a newline it says so and how to write the file without it.
 */
xbcrypt_status xb_key_check(const xbcrypt_key *key, xbcrypt_algo algo, char *msg, size_t msg_size);
/* True when two keys hold the same bytes (constant time for equal lengths). */
bool xb_key_equal(const xbcrypt_key *a, const xbcrypt_key *b);

/* Encoder: see xbcrypt_api.encoder_*. */
xbcrypt_status xb_encoder_new(const xbcrypt_settings *s, xbcrypt_write_fn write, void *opaque,
                              xbcrypt_encoder **out, char *msg, size_t msg_size);
xbcrypt_status xb_encoder_feed(xbcrypt_encoder *enc, const void *buf, size_t len);
xbcrypt_status xb_encoder_finish(xbcrypt_encoder *enc);
void xb_encoder_free(xbcrypt_encoder *enc);
xbcrypt_status xb_encoder_status(const xbcrypt_encoder *enc);
const char *xb_encoder_message(const xbcrypt_encoder *enc);
void xb_encoder_stats(const xbcrypt_encoder *enc, xbcrypt_stats *stats);
/* The value the write callback returned when it failed (0 if it never did). */
int xb_encoder_write_error(const xbcrypt_encoder *enc);

/*
 * Zero-copy input.  buffer() gives space inside the engine's next job where
 * the caller may put up to *avail bytes (never 0 while the object is OK);
 * commit(n) then takes n <= *avail of them, exactly as feed() would.  feed()
 * is buffer() + memcpy + commit().  The pointer is valid until the next call
 * on the object.
 */
xbcrypt_status xb_encoder_buffer(xbcrypt_encoder *enc, void **buf, size_t *avail);
xbcrypt_status xb_encoder_commit(xbcrypt_encoder *enc, size_t n);

/*
 * Shared input (internal, for the CLI's mapped files): like feed(), but the
 * workers read buf in place instead of a copy made by the calling thread.
 * The caller keeps buf[0 .. len) readable and unchanged until the next
 * feed_shared() or finish() on the same object returns XBCRYPT_OK, or
 * until the object is freed.  Output is byte for byte what feed() gives.
 * Give buffers of megabytes: each call waits until the jobs of the buffer
 * before it are written.  The encoder copies each chunk in the worker
 * before hashing it, and the decoder checks what it releases in its own
 * memory, so an input that changes meanwhile cannot yield a chunk that
 * does not verify, nor release plaintext that was not checked.
 */
xbcrypt_status xb_encoder_feed_shared(xbcrypt_encoder *enc, const void *buf, size_t len);
xbcrypt_status xb_decoder_feed_shared(xbcrypt_decoder *dec, const void *buf, size_t len);

/* Decoder: see xbcrypt_api.decoder_*. */
xbcrypt_status xb_decoder_new(const xbcrypt_settings *s, xbcrypt_write_fn write, void *opaque,
                              xbcrypt_decoder **out, char *msg, size_t msg_size);
xbcrypt_status xb_decoder_feed(xbcrypt_decoder *dec, const void *buf, size_t len);
xbcrypt_status xb_decoder_finish(xbcrypt_decoder *dec);
void xb_decoder_free(xbcrypt_decoder *dec);
xbcrypt_status xb_decoder_status(const xbcrypt_decoder *dec);
const char *xb_decoder_message(const xbcrypt_decoder *dec);
void xb_decoder_stats(const xbcrypt_decoder *dec, xbcrypt_stats *stats);
int xb_decoder_write_error(const xbcrypt_decoder *dec);
/* See xbcrypt_api.decoder_fault. */
int xb_decoder_fault(const xbcrypt_decoder *dec, xbcrypt_chunk_info *info);
/* Zero-copy input for the decoder, as for the encoder. */
xbcrypt_status xb_decoder_buffer(xbcrypt_decoder *dec, void **buf, size_t *avail);
xbcrypt_status xb_decoder_commit(xbcrypt_decoder *dec, size_t n);

/*
 * The public-key envelope: see xbcrypt_envelope_v1 in the public header
 * (ownership, return codes, threads) and plugin/envelope/xb_envelope.h.
 */
xbcrypt_status xb_envelope_check_recipients(const char *const *fprs, size_t n_fprs, char *msg,
                                            size_t msg_size);
xbcrypt_status xb_envelope_wrap(const char *const *fprs, size_t n_fprs, void **wrapped,
                                size_t *wrapped_len, xbcrypt_key **key, char *msg,
                                size_t msg_size);
xbcrypt_status xb_envelope_unwrap(const void *wrapped, size_t wrapped_len, xbcrypt_key **key,
                                  char *msg, size_t msg_size);
xbcrypt_status xb_envelope_rewrap(const void *wrapped, size_t wrapped_len,
                                  const char *const *fprs, size_t n_fprs, void **out,
                                  size_t *out_len, char *msg, size_t msg_size);
void xb_envelope_free(void *wrapped);

/*
 * XBSTREAM archive check: an archive fed in any split, followed chunk by
 * chunk without keeping payload bytes (plugin/xbstream walks it, CRC-32
 * through plugin/crypto).  It checks every chunk's CRC (unless
 * XB_ARCHIVE_CHECK_NO_CRC), the path rules, sparse maps, offsets contiguous
 * per member, no chunk after a member's EOF chunk; finish() then says
 * whether the archive ended inside a chunk (XBCRYPT_E_TRUNCATED), held no
 * chunk (XBCRYPT_E_EMPTY) or left members unclosed (XBCRYPT_E_UNCLOSED).
 * Other failures: XBCRYPT_E_MAGIC, E_UNSAFE_PATH, E_ARCHIVE, E_CRC,
 * E_LIMIT (sparse map too long), E_NOMEM.  The first error sticks; the
 * message names the archive chunk, its offset and the member.  Memory: a
 * header (< 600 bytes), one record per member path (its path + ~100 bytes),
 * a sparse map while one is read (8 bytes per entry as they arrive, at most
 * 2^20 entries).  One object per thread; no thread is started.
 */
#define XB_ARCHIVE_CHECK_NO_CRC XBCRYPT_ARCHIVE_CHECK_NO_CRC
typedef xbcrypt_archive_check xb_archive_check;
/* 1 when buf starts with the archive magic XBSTCK01 (len >= 8). */
int xb_archive_is_archive(const void *buf, size_t len);
xbcrypt_status xb_archive_check_new(unsigned flags, xb_archive_check **out, char *msg,
                                    size_t msg_size);
xbcrypt_status xb_archive_check_feed(xb_archive_check *c, const void *buf, size_t len);
xbcrypt_status xb_archive_check_finish(xb_archive_check *c);
xbcrypt_status xb_archive_check_status(const xb_archive_check *c);
/* "" while OK. */
const char *xb_archive_check_message(const xb_archive_check *c);
/* Valid at any time (so far); set out->struct_size first. */
void xb_archive_check_summary(const xb_archive_check *c, xbcrypt_archive_summary *out);
void xb_archive_check_free(xb_archive_check *c);

/*
 * Member-level transform of an XBSTREAM archive: see xbcrypt_archive_settings
 * and the archive functions of xbcrypt_api in the public header (modes,
 * ownership, return codes, memory).  write may be NULL for VERIFY and INFO
 * (it is not called then).
 */
void xb_archive_settings_default(xbcrypt_archive_settings *s);
xbcrypt_status xb_archive_new(const xbcrypt_archive_settings *s, xbcrypt_write_fn write,
                              void *opaque, xbcrypt_archive **out, char *msg, size_t msg_size);
xbcrypt_status xb_archive_feed(xbcrypt_archive *a, const void *buf, size_t len);
/* Shared input, as xb_encoder_feed_shared: whole XBCRYPT chunks of members
 * stay in buf for the workers (sealing copies them first; opening, when
 * decrypting version-3 chunks, reads them in place and checks its own
 * copy); everything else is copied as feed() does. */
xbcrypt_status xb_archive_feed_shared(xbcrypt_archive *a, const void *buf, size_t len);
xbcrypt_status xb_archive_finish(xbcrypt_archive *a);
void xb_archive_free(xbcrypt_archive *a);
xbcrypt_status xb_archive_status(const xbcrypt_archive *a);
const char *xb_archive_message(const xbcrypt_archive *a);
void xb_archive_summary(const xbcrypt_archive *a, xbcrypt_archive_summary *out);
/* chunks, plaintext_bytes, hashed_chunks: XBCRYPT chunks of members;
 * bytes_in: archive bytes fed; encrypted_bytes: archive bytes written. */
void xb_archive_stats(const xbcrypt_archive *a, xbcrypt_stats *stats);
int xb_archive_write_error(const xbcrypt_archive *a);
/* Most bytes of chunk buffers held at once so far (tests of the bound). */
size_t xb_archive_peak_bytes(const xbcrypt_archive *a);

#endif /* XB_ENGINE_H */
