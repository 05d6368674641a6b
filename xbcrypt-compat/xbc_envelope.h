/*
 * xbc_envelope.h - the public-key envelope on the command line (issue 7).
 *
 *   xbcrypt -a AES256 --recipient=FPR [--recipient=FPR ...] --wrapped-key-file=PATH
 *       a fresh data key, wrapped to every recipient into PATH (created, never
 *       replaced, before any data is read); the stream is an ordinary
 *       version-3 stream under that key
 *   xbcrypt -d -a AES256 --wrapped-key-file=PATH      (also --verify, --rekey)
 *       the data key from PATH, through gpg-agent and the private key
 *   xbcrypt --rewrap --wrapped-key-file=OLD --recipient=FPR ... --new-wrapped-key-file=NEW
 *       the same data key to new recipients; no data is touched
 *
 * The data key is never written to disk unwrapped and never printed.
 */
#ifndef XBC_ENVELOPE_H
#define XBC_ENVELOPE_H

#include "xbc_options.h"
#include "xb_engine.h"

#include <stdbool.h>

/* A wrapped-key file this run created, to remove if the run fails. */
struct xbc_envelope {
    const char *created; /* the path (points into argv), or NULL */
};

/*
 * The data key of a run with --wrapped-key-file.  Encrypting: checks that
 * PATH does not exist, wraps a fresh key to every --recipient, writes it
 * to a temporary that becomes PATH once whole (never replacing anything at
 * PATH), and records that in *env and for xbc_envelope_unlink_from_signal().  Decrypting: reads PATH
 * and unwraps it.  Either way the key is checked against o->algo.  NULL
 * after printing why (and then nothing was created).
 */
xbcrypt_key *xbc_envelope_key(const struct xbc_options *o, struct xbc_envelope *env);

/*
 * The end of an encrypting run: a wrapped-key file made by this run is kept
 * when `keep` (the run succeeded, or encrypted bytes already went where they
 * cannot be taken back and need the key), else removed, with a line saying
 * so.  Does nothing when no file was created.
 */
void xbc_envelope_end(struct xbc_envelope *env, bool keep);

/*
 * Removes the wrapped-key file this run created, if it has not ended yet
 * (SIGINT, SIGTERM or SIGHUP during the run: no backup will use that key);
 * safe in a signal handler (it only calls unlink()).
 */
void xbc_envelope_unlink_from_signal(void);

/*
 * The key a decrypting mode reads with: from --wrapped-key-file when given,
 * else from --encrypt-key-file.  NULL after printing why.
 */
xbcrypt_key *xbc_envelope_or_key_file(const struct xbc_options *o);

/* --rewrap: 0 when NEW was written whole. */
int xbc_run_rewrap(const struct xbc_options *o);

#endif /* XBC_ENVELOPE_H */
