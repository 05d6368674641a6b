/*
 * xb_envelope.h - the public-key envelope: a fresh random data key per
 * stream, encrypted ("wrapped") to OpenPGP recipients through GPGME.
 *
 * The XBCRYPT data format stays symmetric and untouched; only the data key
 * is public-key encrypted.  The wrapped key is an ordinary ASCII-armoured
 * OpenPGP message, so `gpg --decrypt WRAPPED > KEYFILE` recovers the data
 * key with stock tools.
 *
 * This is the only place that includes <gpgme.h>.  It depends on key/ and
 * crypto/ only.  The data key lives in libgcrypt secure memory from its
 * first byte to its last (xb_random_key writes it there; on unwrap GPGME's
 * output goes straight into a secure buffer through a write callback), and
 * it is wiped after use.  It never appears in a message.
 *
 * Recipients are named by full fingerprint only (40 or 64 hex digits, an
 * optional "0x" prefix, spaces not allowed), and the GPGME encryption runs
 * with GPGME_ENCRYPT_ALWAYS_TRUST: a full fingerprint names exactly one key,
 * so the caller has already decided whom to trust, and the backup host
 * needs no web-of-trust setup (ownertrust, signatures) for it.  A short key
 * ID, an e-mail address or a user ID is refused, because with always-trust
 * it could pick a key an attacker uploaded.  Every recipient is checked
 * before anything is encrypted: a key that is missing, ambiguous, revoked,
 * expired, disabled, invalid or without a usable encryption subkey fails
 * the call and the message names its fingerprint.
 *
 * Exactly the keys named: each recipient's encryption subkey is chosen here
 * (the subkey named by its own fingerprint, refused when it has expired or
 * is revoked; for a primary key, its newest usable encryption subkey, as gpg
 * chooses) and given to gpg as "SUBKEY!" through gpgme_op_encrypt_ext(),
 * not as a key object, whose fingerprint gpg would take as a name that a
 * gpg.conf "group" expands.  The session key packets of gpg's output are
 * then read back (dearmoured, key IDs of the version-3 PKESK packets) and
 * must name exactly those subkeys.  A decryption that fails while no
 * gpg-agent answers on its socket says so, not "no secret key".
 *
 * Threads: GPGME is initialised once per process (pthread_once); each call
 * uses its own GPGME context, so calls from different threads may run at
 * once.  GPGME runs gpg (and gpg talks to gpg-agent) as child processes and
 * waits for them; on POSIX it sets SIGPIPE to SIG_IGN when it was still at
 * SIG_DFL, so that a dying gpg cannot kill the host.  Nothing here changes
 * the locale.
 *
 * Errors: every function returns an xbcrypt_status and writes a sentence to
 * msg (when msg is non-NULL and msg_size > 0); nothing is printed.
 *   XBCRYPT_E_ARG          NULL pointer, no recipient, malformed fingerprint
 *   XBCRYPT_E_KEY          a recipient key missing or unusable; the wrapped
 *                          key cannot be decrypted (no secret key, damaged,
 *                          not an OpenPGP message) or is not 32 bytes
 *   XBCRYPT_E_CRYPTO       GPGME or gpg failed otherwise
 *   XBCRYPT_E_NOMEM        out of (secure) memory
 *   XBCRYPT_E_UNSUPPORTED  GPGME cannot find a usable gpg
 */
#ifndef XB_ENVELOPE_H
#define XB_ENVELOPE_H

#include "xb_engine.h"

#include <xbcrypt/xbcrypt.h>

#include <stddef.h>

/* Length of the data key: AES-256. */
#define XB_ENVELOPE_KEY_SIZE 32u
/* Most recipients one envelope takes. */
#define XB_ENVELOPE_RECIPIENTS_MAX 64u
/* Largest wrapped key accepted by unwrap and rewrap. */
#define XB_ENVELOPE_WRAPPED_MAX (1u << 20)

/*
 * The functions are declared in xb_engine.h, beside the rest of the engine's
 * internal API:
 *   xb_envelope_check_recipients  every recipient checked as wrap would, no key
 *   xb_envelope_wrap    fresh 32-byte data key (GCRY_VERY_STRONG_RANDOM,
 *                       straight into secure memory), encrypted to every
 *                       recipient; *key (xb_key_free) and *wrapped
 *                       (xb_envelope_free) on success, NULL / 0 on failure
 *   xb_envelope_unwrap  decrypt with whatever secret key gpg-agent can use
 *                       (a key file, a smartcard, a pinentry prompt); the
 *                       plaintext must be 32 bytes
 *   xb_envelope_rewrap  unwrap, then wrap the same key to new recipients
 *                       (checked before the secret key is used)
 *   xb_envelope_free    frees a wrapped key; NULL is a no-op
 */

_Static_assert(XB_ENVELOPE_KEY_SIZE == XBCRYPT_ENVELOPE_KEY_SIZE,
               "the public header and the engine agree on the data key size");

#endif /* XB_ENVELOPE_H */
