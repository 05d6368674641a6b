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

#endif /* XB_ENGINE_H */
