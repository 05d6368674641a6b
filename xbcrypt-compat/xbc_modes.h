/*
 * xbc_modes.h - the modes of issue 6, besides plain encrypt / decrypt:
 *
 *   --verify  decrypt and check every chunk, write nothing; a summary on
 *             stderr.  Without a key file: structure and CRCs only.
 *   --rekey   decrypt under the old key, encrypt under the new one, in one
 *             streaming pass; plaintext only in memory, one verified chunk
 *             at a time.
 *   --info    list the chunks (no key) on stdout, one line each, and flag
 *             what is odd.
 *
 * Each takes the parsed options (xbc_parse_args() returned XBC_ARGS_RUN
 * with that mode) and returns the exit status.
 */
#ifndef XBC_MODES_H
#define XBC_MODES_H

#include "xb_engine.h"
#include "xbc_options.h"

#include <stdbool.h>

/* Exit status of --verify: 0 when every chunk passed; 1 when the stream is
 * damaged, unreadable, empty, or goes back from version 3 to a legacy
 * version; XBC_VERIFY_REFUSED when every chunk verified here but one has
 * olen != elen, which Percona's reader refuses. */
#define XBC_VERIFY_REFUSED 2
int xbc_run_verify(const struct xbc_options *o);

/* Says what a stream of downgrades (see xbcrypt_stats) means: an error
 * when `fatal`, else a warning; nothing when there is none. */
void xbc_warn_downgrade(const struct xbc_options *o, const xbcrypt_stats *t, bool fatal);

/* After a successful plain -d or encryption: -d warns of a downgrade,
 * encryption of an empty input (an empty backup). */
void xbc_crypt_done(const struct xbc_options *o, const xbcrypt_stats *t);

/* 0 when the whole stream was re-encrypted and the output is in place. */
int xbc_run_rekey(const struct xbc_options *o);

/* Exit status of --info: the stream was read to its end and nothing is
 * odd; it was, but something is flagged; or it could not be read. */
#define XBC_INFO_OK 0
#define XBC_INFO_ERROR 1
#define XBC_INFO_FLAGGED 2
int xbc_run_info(const struct xbc_options *o);

#endif /* XBC_MODES_H */
