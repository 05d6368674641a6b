/* xb_envelope.c - the public-key envelope over GPGME; see xb_envelope.h. */
#include "envelope/xb_envelope.h"

#include "crypto/xb_crypto.h"
#include "key/xb_key.h"
#include "xb_engine.h"
#include "xb_msg.h"

#include <errno.h>
#include <gpgme.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Room for the longest fingerprint (v5: 64 hex digits) and a NUL. */
#define FPR_MAX 65

static void clear_msg(char *msg, size_t msg_size)
{
    if (msg && msg_size)
        msg[0] = '\0';
}

/* GPGME's description of an error, in a caller buffer (thread-safe). */
static const char *gpg_text(gpgme_error_t err, char *buf, size_t len)
{
    if (gpgme_strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "GPGME error %u", (unsigned)gpgme_err_code(err));
    return buf;
}

/* ---- once per process ---------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool init_ok;             /* written once, inside init_once */
static gpgme_error_t init_error; /* likewise: why gpg cannot be used */
static bool init_version_low;    /* likewise: the GPGME library is too old */

/* gpgme_check_version() must run before any other GPGME call; it also
 * initialises GPGME's own subsystems.  The locale is left alone: nothing
 * here needs pinentry to be told the locale, and a library must not change
 * the process's. */
static void init_gpgme(void)
{
    if (!gpgme_check_version(GPGME_VERSION)) {
        init_version_low = true;
        return;
    }
    init_error = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
    init_ok = init_error == 0;
}

static xbcrypt_status start(gpgme_ctx_t *ctx, char *msg, size_t msg_size)
{
    *ctx = NULL;
    xbcrypt_status st = xb_crypto_init(msg, msg_size);
    if (st != XBCRYPT_OK)
        return st;
    if (pthread_once(&init_once, init_gpgme) != 0) {
        xb_say(msg, msg_size, "cannot initialise GPGME");
        return XBCRYPT_E_CRYPTO;
    }
    char why[128];
    if (init_version_low) {
        xb_say(msg, msg_size,
               "the GPGME library is older than %s, the version this engine was built with",
               GPGME_VERSION);
        return XBCRYPT_E_UNSUPPORTED;
    }
    if (!init_ok) {
        xb_say(msg, msg_size, "GPGME cannot use gpg (OpenPGP): %s; is gnupg installed?",
               gpg_text(init_error, why, sizeof why));
        return XBCRYPT_E_UNSUPPORTED;
    }
    gpgme_error_t err = gpgme_new(ctx);
    if (!err)
        err = gpgme_set_protocol(*ctx, GPGME_PROTOCOL_OpenPGP);
    if (err) {
        xb_say(msg, msg_size, "cannot start GPGME: %s", gpg_text(err, why, sizeof why));
        gpgme_release(*ctx);
        *ctx = NULL;
        return gpgme_err_code(err) == GPG_ERR_ENOMEM ? XBCRYPT_E_NOMEM : XBCRYPT_E_CRYPTO;
    }
    gpgme_set_armor(*ctx, 1);
    return XBCRYPT_OK;
}

/* ---- recipients ---------------------------------------------------------- */

/*
 * Copies a fingerprint into out[FPR_MAX] in upper case, without a "0x"
 * prefix.  Only 40 (v4) or 64 (v5) hex digits are a full fingerprint.
 */
static bool normalise_fpr(const char *in, char out[FPR_MAX])
{
    if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
        in += 2;
    size_t n = 0;
    for (; in[n]; n++) {
        char c = in[n];
        if (n >= FPR_MAX - 1)
            return false;
        if (c >= '0' && c <= '9')
            out[n] = c;
        else if (c >= 'a' && c <= 'f')
            out[n] = (char)(c - 'a' + 'A');
        else if (c >= 'A' && c <= 'F')
            out[n] = c;
        else
            return false;
    }
    out[n] = '\0';
    return n == 40 || n == 64;
}

static bool usable_subkey(gpgme_subkey_t sk)
{
    return sk->can_encrypt && !sk->revoked && !sk->expired && !sk->disabled && !sk->invalid;
}

/* What is wrong with a subkey that cannot be encrypted to; NULL if none. */
static const char *subkey_problem(gpgme_subkey_t sk)
{
    return sk->revoked      ? "is revoked"
           : sk->expired    ? "has expired"
           : sk->disabled   ? "is disabled"
           : sk->invalid    ? "is invalid"
           : !sk->can_encrypt ? "cannot encrypt (a signing key)"
                              : NULL;
}

/*
 * The encryption subkey a recipient gets: exactly the subkey named, when
 * the fingerprint is a subkey's; for a primary key's fingerprint, as gpg
 * chooses, its newest usable encryption subkey, else the primary key
 * itself if it can encrypt.  NULL when there is none.
 */
static gpgme_subkey_t pick_subkey(gpgme_key_t key, const char *fpr)
{
    gpgme_subkey_t primary = key->subkeys, best = NULL;
    for (gpgme_subkey_t sk = primary ? primary->next : NULL; sk; sk = sk->next) {
        if (sk->fpr && strcasecmp(sk->fpr, fpr) == 0)
            return usable_subkey(sk) ? sk : NULL;
        if (usable_subkey(sk) && (!best || sk->timestamp > best->timestamp))
            best = sk;
    }
    return best ? best : primary && usable_subkey(primary) ? primary : NULL;
}

/* A recipient: the key named, and the one subkey the data key goes to. */
struct recipient {
    gpgme_key_t key;
    gpgme_subkey_t sub;
};

/*
 * Looks up one recipient, checks it can be encrypted to and picks its
 * subkey.  On success out->key holds a reference (gpgme_key_unref it).
 */
static xbcrypt_status get_recipient(gpgme_ctx_t ctx, const char *given, struct recipient *out,
                                    char *msg, size_t msg_size)
{
    out->key = NULL;
    out->sub = NULL;
    char fpr[FPR_MAX];
    if (!given || !normalise_fpr(given, fpr)) {
        /* Not quoted: only a fingerprint is printed back, and this is not
         * one (it may be an address, or something typed by mistake). */
        xb_say(msg, msg_size,
               "a recipient must be named by its full fingerprint (40 or 64 hex digits, as gpg "
               "--list-keys --with-colons shows on its fpr line), not a key ID, an address or "
               "a name");
        return XBCRYPT_E_ARG;
    }

    char why[128];
    gpgme_key_t key = NULL;
    gpgme_error_t err = gpgme_get_key(ctx, fpr, &key, 0);
    if (gpgme_err_code(err) == GPG_ERR_EOF || (!err && !key)) {
        xb_say(msg, msg_size, "recipient %s: no such public key in the keyring", fpr);
        return XBCRYPT_E_KEY;
    }
    if (gpgme_err_code(err) == GPG_ERR_AMBIGUOUS_NAME) {
        xb_say(msg, msg_size, "recipient %s: more than one key has this fingerprint", fpr);
        return XBCRYPT_E_KEY;
    }
    if (err) {
        xb_say(msg, msg_size, "recipient %s: cannot read the key: %s", fpr,
               gpg_text(err, why, sizeof why));
        return gpgme_err_code(err) == GPG_ERR_ENOMEM ? XBCRYPT_E_NOMEM : XBCRYPT_E_CRYPTO;
    }

    /* A fingerprint search also matches subkeys: accept the primary key's
     * fingerprint or one of its subkeys', nothing looser. */
    bool named = key->fpr && strcasecmp(key->fpr, fpr) == 0;
    bool any_usable = false;
    gpgme_subkey_t named_sub = NULL;
    for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next) {
        if (sk->fpr && strcasecmp(sk->fpr, fpr) == 0) {
            named = true;
            if (sk != key->subkeys)
                named_sub = sk;
        }
        if (usable_subkey(sk))
            any_usable = true;
    }
    const char *problem = NULL;
    if (!named || key->protocol != GPGME_PROTOCOL_OpenPGP)
        problem = "the keyring returned a different key for this fingerprint";
    else if (key->revoked)
        problem = "the key is revoked";
    else if (key->expired)
        problem = "the key has expired";
    else if (key->disabled)
        problem = "the key is disabled";
    else if (key->invalid)
        problem = "the key is invalid";
    else if (!key->can_encrypt || !any_usable)
        problem = "the key has no usable encryption subkey (a signing-only key, or its "
                  "encryption subkeys are revoked or expired)";
    if (problem) {
        xb_say(msg, msg_size, "recipient %s: %s", fpr, problem);
        gpgme_key_unref(key);
        return XBCRYPT_E_KEY;
    }
    /* A subkey named by its own fingerprint is taken exactly: when it
     * cannot be used, another subkey is not silently chosen instead. */
    if (named_sub && subkey_problem(named_sub)) {
        xb_say(msg, msg_size,
               "recipient %s names a subkey of key %s, and that subkey %s: no other subkey is "
               "used in its place; name the primary key's fingerprint to use its current "
               "encryption subkey, or renew that subkey",
               fpr, key->fpr ? key->fpr : "(unknown)", subkey_problem(named_sub));
        gpgme_key_unref(key);
        return XBCRYPT_E_KEY;
    }
    out->sub = pick_subkey(key, fpr);
    if (!out->sub || !out->sub->fpr || !out->sub->keyid) {
        xb_say(msg, msg_size, "recipient %s: the key has no usable encryption subkey", fpr);
        gpgme_key_unref(key);
        return XBCRYPT_E_KEY;
    }
    out->key = key;
    return XBCRYPT_OK;
}

static void unref_keys(struct recipient *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (keys[i].key)
            gpgme_key_unref(keys[i].key);
        keys[i].key = NULL;
        keys[i].sub = NULL;
    }
}

/* Looks up every recipient into keys[0..n-1].  On failure nothing is left
 * referenced. */
static xbcrypt_status get_recipients(gpgme_ctx_t ctx, const char *const *fprs, size_t n,
                                     struct recipient *keys, char *msg, size_t msg_size)
{
    for (size_t i = 0; i < n; i++) {
        xbcrypt_status st = get_recipient(ctx, fprs[i], &keys[i], msg, msg_size);
        if (st != XBCRYPT_OK) {
            unref_keys(keys, i);
            return st;
        }
    }
    return XBCRYPT_OK;
}

static xbcrypt_status check_list(const char *const *fprs, size_t n, char *msg, size_t msg_size)
{
    if (!fprs || n == 0) {
        xb_say(msg, msg_size, "at least one recipient is needed");
        return XBCRYPT_E_ARG;
    }
    if (n > XB_ENVELOPE_RECIPIENTS_MAX) {
        xb_say(msg, msg_size, "at most %u recipients are accepted", XB_ENVELOPE_RECIPIENTS_MAX);
        return XBCRYPT_E_ARG;
    }
    return XBCRYPT_OK;
}

xbcrypt_status xb_envelope_check_recipients(const char *const *fprs, size_t n_fprs, char *msg,
                                            size_t msg_size)
{
    clear_msg(msg, msg_size);
    xbcrypt_status st = check_list(fprs, n_fprs, msg, msg_size);
    if (st != XBCRYPT_OK)
        return st;
    gpgme_ctx_t ctx;
    if ((st = start(&ctx, msg, msg_size)) != XBCRYPT_OK)
        return st;
    struct recipient keys[XB_ENVELOPE_RECIPIENTS_MAX];
    st = get_recipients(ctx, fprs, n_fprs, keys, msg, msg_size);
    if (st == XBCRYPT_OK)
        unref_keys(keys, n_fprs);
    gpgme_release(ctx);
    return st;
}

/* ---- wrapping ------------------------------------------------------------ */

/* Marks a data object sensitive: GPGME then wipes its internal buffers
 * before freeing them. */
static gpgme_error_t sensitive(gpgme_data_t d)
{
    return gpgme_data_set_flag(d, "sensitive", "1");
}

/* ---- whom gpg encrypted to ------------------------------------------------ */

/* The value of a base64 digit, or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/*
 * The bytes of an ASCII-armoured OpenPGP message (RFC 4880, 6.2): the
 * base64 between the blank line that ends the armour headers and the
 * checksum ("=XXXX") or END line.  Returns them (free()), or NULL when the
 * text is not armour.  The message holds no secret: only wrapped keys.
 */
static uint8_t *dearmor(const char *text, size_t len, size_t *out_len)
{
    static const char begin[] = "-----BEGIN PGP MESSAGE-----";
    const char *end = text + len, *p = text;
    if (len < sizeof begin - 1 || memcmp(p, begin, sizeof begin - 1) != 0)
        return NULL;
    /* The BEGIN line, then header lines ("Key: value") up to a blank one. */
    for (bool blank = false; !blank;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return NULL;
        p = nl + 1;
        blank = p < end && (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'));
    }
    uint8_t *out = malloc(len / 4 * 3 + 3);
    if (!out)
        return NULL;
    size_t n = 0;
    unsigned acc = 0, bits = 0;
    bool line_start = true;
    for (; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\n') {
            line_start = true;
            continue;
        }
        if (line_start && (c == '=' || c == '-'))
            break; /* the checksum or the END line */
        line_start = false;
        if (c == '\r' || c == ' ' || c == '\t')
            continue;
        if (c == '=')
            break; /* padding: the data ends here */
        int v = b64_value(c);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *out_len = n;
    return out;
}

/*
 * The key IDs of the public-key encrypted session key packets (tag 1,
 * version 3; RFC 4880, 4.2 and 5.1) that open an OpenPGP message, into
 * ids[0..*n-1], up to the first other packet (the encrypted data).
 * Returns NULL, or what makes the message one wrap() does not make.
 */
static const char *session_key_ids(const uint8_t *p, size_t len, uint8_t (*ids)[8], size_t max,
                                   size_t *n)
{
    *n = 0;
    size_t off = 0;
    while (off < len) {
        const uint8_t b = p[off++];
        unsigned tag;
        size_t body = SIZE_MAX; /* SIZE_MAX: partial or indeterminate */
        if (!(b & 0x80))
            return "a byte that does not start an OpenPGP packet";
        if (b & 0x40) {
            tag = b & 0x3fu;
            if (off >= len)
                return "a truncated packet header";
            const uint8_t o1 = p[off++];
            if (o1 < 192) {
                body = o1;
            } else if (o1 < 224) {
                if (off >= len)
                    return "a truncated packet header";
                body = ((size_t)(o1 - 192) << 8) + p[off++] + 192;
            } else if (o1 == 255) {
                if (len - off < 4)
                    return "a truncated packet header";
                body = (size_t)p[off] << 24 | (size_t)p[off + 1] << 16 |
                       (size_t)p[off + 2] << 8 | p[off + 3];
                off += 4;
            }
        } else {
            tag = (b >> 2) & 15u;
            if ((b & 3u) != 3) {
                size_t bytes = (size_t)1 << (b & 3u);
                if (len - off < bytes)
                    return "a truncated packet header";
                body = 0;
                for (size_t i = 0; i < bytes; i++)
                    body = body << 8 | p[off++];
            }
        }
        if (tag != 1 && tag != 3)
            break; /* the encrypted data: every recipient came before it */
        if (body == SIZE_MAX || body > len - off)
            return "a truncated session key packet";
        if (tag == 3)
            return "a passphrase (symmetric) session key, besides the public keys";
        if (body < 10 || p[off] != 3)
            return "a session key packet of a version other than 3";
        if (*n == max)
            return "more session key packets than recipients";
        memcpy(ids[(*n)++], p + off + 1, 8);
        off += body;
    }
    return *n ? NULL : "no public-key session key packet";
}

/*
 * Checks that gpg encrypted the data key to exactly the subkeys chosen.
 * gpg.conf can change the recipients behind GPGME's back (a "group" whose
 * name is a recipient's fingerprint expands to other keys); a wrapped key
 * the named recipients cannot open, or that someone else can, must fail.
 */
static xbcrypt_status check_wrapped_to(const char *armor, size_t len,
                                       const struct recipient *keys, size_t n, char *msg,
                                       size_t msg_size)
{
    size_t bin_len = 0, found = 0;
    uint8_t *bin = dearmor(armor, len, &bin_len);
    if (!bin) {
        xb_say(msg, msg_size,
               "cannot check whom gpg encrypted the data key to: its output is not an "
               "ASCII-armoured OpenPGP message");
        return XBCRYPT_E_CRYPTO;
    }
    uint8_t ids[XB_ENVELOPE_RECIPIENTS_MAX][8];
    const char *problem = session_key_ids(bin, bin_len, ids, XB_ENVELOPE_RECIPIENTS_MAX, &found);
    free(bin);
    if (problem) {
        xb_say(msg, msg_size, "cannot check whom gpg encrypted the data key to: gpg wrote %s",
               problem);
        return XBCRYPT_E_CRYPTO;
    }
    bool used[XB_ENVELOPE_RECIPIENTS_MAX] = {false};
    for (size_t i = 0; i < found; i++) {
        char id[17];
        bool zero = true;
        for (unsigned k = 0; k < 8; k++) {
            snprintf(id + 2 * k, 3, "%02X", (unsigned)ids[i][k]);
            zero = zero && ids[i][k] == 0;
        }
        if (zero) {
            xb_say(msg, msg_size,
                   "gpg hid the key IDs of the recipient keys (throw-keyids or hidden-recipient "
                   "in gpg.conf?), so whom it encrypted the data key to cannot be checked; "
                   "remove that option");
            return XBCRYPT_E_KEY;
        }
        bool match = false;
        for (size_t j = 0; j < n; j++)
            if (strcasecmp(keys[j].sub->keyid, id) == 0)
                used[j] = match = true;
        if (!match) {
            xb_say(msg, msg_size,
                   "gpg encrypted the data key to key ID %s, which is no recipient named (a "
                   "\"group\" or \"encrypt-to\" in gpg.conf?)",
                   id);
            return XBCRYPT_E_KEY;
        }
    }
    for (size_t j = 0; j < n; j++) {
        if (!used[j]) {
            xb_say(msg, msg_size,
                   "gpg did not encrypt the data key to recipient %s (its subkey %s): a "
                   "\"group\" in gpg.conf named after it may stand for other keys",
                   keys[j].key->fpr ? keys[j].key->fpr : "(unknown)", keys[j].sub->keyid);
            return XBCRYPT_E_KEY;
        }
    }
    return XBCRYPT_OK;
}

/*
 * Encrypts key->bytes to the n `keys`, each to exactly its chosen subkey.
 * GPGME reads the key from its secure buffer in place (no copy is made
 * here).
 */
static xbcrypt_status encrypt_to(gpgme_ctx_t ctx, const struct recipient *keys, size_t n,
                                 const xbcrypt_key *key, void **out, size_t *out_len, char *msg,
                                 size_t msg_size)
{
    char why[128];
    /* One line per recipient for gpg's -r: the subkey's fingerprint with
     * "!", which makes gpg use exactly that subkey.  Key objects would not
     * do: GPGME passes their fingerprints to -r as names, which a gpg.conf
     * "group" of the same name expands. */
    char recipients[XB_ENVELOPE_RECIPIENTS_MAX * (FPR_MAX + 2) + 1];
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(recipients + used, sizeof recipients - used, "%s!\n", keys[i].sub->fpr);
        if (w < 0 || (size_t)w >= sizeof recipients - used) {
            xb_say(msg, msg_size, "recipient %s: the subkey fingerprint is too long",
                   keys[i].key->fpr ? keys[i].key->fpr : "(unknown)");
            return XBCRYPT_E_KEY;
        }
        used += (size_t)w;
    }
    gpgme_data_t plain = NULL, cipher = NULL;
    gpgme_error_t err = gpgme_data_new_from_mem(&plain, (const char *)key->bytes, key->len, 0);
    if (!err)
        err = sensitive(plain);
    if (!err)
        err = gpgme_data_new(&cipher);
    if (err) {
        xb_say(msg, msg_size, "cannot set up GPGME data: %s", gpg_text(err, why, sizeof why));
        gpgme_data_release(plain);
        gpgme_data_release(cipher);
        return gpgme_err_code(err) == GPG_ERR_ENOMEM ? XBCRYPT_E_NOMEM : XBCRYPT_E_CRYPTO;
    }

    /* ALWAYS_TRUST: every key was named by its full fingerprint and checked
     * above, so the caller has chosen it exactly; the web of trust has
     * nothing to add.  NO_ENCRYPT_TO: a gpg.conf "encrypt-to" must not add a
     * recipient the caller did not name (a rewrap would not take it away).
     * NO_COMPRESS: 32 random bytes do not compress. */
    err = gpgme_op_encrypt_ext(ctx, NULL, recipients,
                               GPGME_ENCRYPT_ALWAYS_TRUST | GPGME_ENCRYPT_NO_ENCRYPT_TO |
                                   GPGME_ENCRYPT_NO_COMPRESS,
                               plain, cipher);
    gpgme_encrypt_result_t res = gpgme_op_encrypt_result(ctx);
    if (res && res->invalid_recipients) {
        gpgme_invalid_key_t bad = res->invalid_recipients;
        xb_say(msg, msg_size, "recipient %s: gpg refused the key: %s",
               bad->fpr ? bad->fpr : "(unknown)", gpg_text(bad->reason, why, sizeof why));
        gpgme_data_release(plain);
        gpgme_data_release(cipher);
        return XBCRYPT_E_KEY;
    }
    gpgme_data_release(plain);
    if (err) {
        xb_say(msg, msg_size, "gpg could not encrypt the data key: %s",
               gpg_text(err, why, sizeof why));
        gpgme_data_release(cipher);
        return XBCRYPT_E_CRYPTO;
    }
    size_t len = 0;
    char *mem = gpgme_data_release_and_get_mem(cipher, &len);
    if (!mem || len == 0) {
        gpgme_free(mem);
        xb_say(msg, msg_size, "gpg produced no wrapped key");
        return XBCRYPT_E_CRYPTO;
    }
    xbcrypt_status st = check_wrapped_to(mem, len, keys, n, msg, msg_size);
    if (st != XBCRYPT_OK) {
        gpgme_free(mem);
        return st;
    }
    *out = mem;
    *out_len = len;
    return XBCRYPT_OK;
}

static xbcrypt_status fresh_key(gpgme_ctx_t ctx, const void *wrapped, size_t wrapped_len,
                                xbcrypt_key **out, char *msg, size_t msg_size)
{
    (void)ctx, (void)wrapped, (void)wrapped_len; /* a new key owes nothing to an old one */
    *out = NULL;
    uint8_t *buf = xb_secure_alloc(XB_ENVELOPE_KEY_SIZE);
    if (!buf) {
        xb_say(msg, msg_size, "out of secure memory for the data key");
        return XBCRYPT_E_NOMEM;
    }
    xb_random_key(buf, XB_ENVELOPE_KEY_SIZE);
    xbcrypt_status st = xb_key_from_bytes(buf, XB_ENVELOPE_KEY_SIZE, out, msg, msg_size);
    xb_secure_free(buf, XB_ENVELOPE_KEY_SIZE);
    return st;
}

/* ---- unwrapping ---------------------------------------------------------- */

/* Where GPGME writes the decrypted key: a secure buffer, never the heap.
 * One byte of room more than a data key, to notice a longer plaintext. */
struct key_sink {
    uint8_t *buf; /* secure memory, SINK_CAP bytes */
    size_t len;
    bool overflow;
};
#define SINK_CAP (XB_ENVELOPE_KEY_SIZE + 1)

static ssize_t sink_write(void *opaque, const void *buf, size_t size)
{
    struct key_sink *s = opaque;
    if (size > SINK_CAP - s->len) {
        s->overflow = true;
        errno = EFBIG;
        return -1;
    }
    memcpy(s->buf + s->len, buf, size);
    s->len += size;
    return (ssize_t)size;
}

/*
 * False when gpg-agent does not answer on its socket (GNUPGHOME's).  gpg
 * uses a secret key only through the agent and starts one when it can, so
 * after a failed decryption an agent that does not answer is the reason,
 * whatever keys the keyring holds; gpg then reports "no secret key".  This
 * starts nothing; when it cannot tell, it says the agent answers.
 */
static bool agent_answers(void)
{
    gpgme_ctx_t a = NULL;
    if (gpgme_new(&a) != 0)
        return true;
    gpgme_error_t op_err = 0, err = gpgme_set_protocol(a, GPGME_PROTOCOL_ASSUAN);
    if (!err)
        err = gpgme_op_assuan_transact_ext(a, "GETINFO version", NULL, NULL, NULL, NULL, NULL,
                                           NULL, &op_err);
    gpgme_release(a);
    gpgme_err_code_t code = gpgme_err_code(err);
    return !(code == GPG_ERR_ASS_CONNECT_FAILED || code == GPG_ERR_NO_AGENT ||
             code == GPG_ERR_ENOENT || code == GPG_ERR_ECONNREFUSED);
}

/* Why a decryption failed, in words an operator can act on. */
static void explain_decrypt(gpgme_ctx_t ctx, gpgme_error_t err, char *msg, size_t msg_size)
{
    char why[128];
    gpgme_decrypt_result_t res = gpgme_op_decrypt_result(ctx);
    gpgme_err_code_t code = gpgme_err_code(err);
    if ((code == GPG_ERR_NO_SECKEY || code == GPG_ERR_DECRYPT_FAILED ||
         code == GPG_ERR_NO_AGENT) &&
        !agent_answers()) {
        xb_say(msg, msg_size,
               "cannot decrypt the wrapped key: no gpg-agent answers for this GnuPG home, and "
               "gpg uses secret keys only through one, so whether this keyring holds the key "
               "of a recipient could not be checked");
        return;
    }
    /* gpg reports a missing key for a damaged message too: when this
     * keyring does hold the secret key of a recipient, say so instead of
     * sending the operator to look for a key that is here. */
    for (gpgme_recipient_t r = res ? res->recipients : NULL; r; r = r->next) {
        gpgme_key_t k = NULL;
        if (!r->keyid || gpgme_get_key(ctx, r->keyid, &k, 1) != 0 || !k)
            continue;
        gpgme_key_unref(k);
        if (code == GPG_ERR_NO_SECKEY || code == GPG_ERR_DECRYPT_FAILED) {
            xb_say(msg, msg_size,
                   "cannot decrypt the wrapped key although this keyring holds the secret key of "
                   "recipient %s: the file is damaged or incomplete, or that key's smartcard is "
                   "not present (%s)",
                   r->keyid, gpg_text(err, why, sizeof why));
            return;
        }
    }
    if (code == GPG_ERR_NO_SECKEY || code == GPG_ERR_DECRYPT_FAILED) {
        /* The recipients' key IDs are in the message itself; naming them
         * tells the operator which private key (or smartcard) to bring. */
        char ids[256] = "";
        size_t used = 0;
        unsigned listed = 0;
        for (gpgme_recipient_t r = res ? res->recipients : NULL; r; r = r->next) {
            if (!r->keyid || listed == 8)
                break;
            int n = snprintf(ids + used, sizeof ids - used, "%s%s", listed ? ", " : "",
                             r->keyid);
            if (n < 0 || (size_t)n >= sizeof ids - used)
                break;
            used += (size_t)n;
            listed++;
        }
        if (listed)
            xb_say(msg, msg_size,
                   "cannot decrypt the wrapped key: no secret key for any of its recipients is "
                   "available here (wrapped to key ID %s)",
                   ids);
        else
            xb_say(msg, msg_size, "cannot decrypt the wrapped key: %s",
                   gpg_text(err, why, sizeof why));
        return;
    }
    if (code == GPG_ERR_NO_DATA || code == GPG_ERR_INV_DATA || code == GPG_ERR_BAD_DATA)
        xb_say(msg, msg_size, "the wrapped key is not an encrypted OpenPGP message (%s)",
               gpg_text(err, why, sizeof why));
    else if (code == GPG_ERR_CANCELED || code == GPG_ERR_FULLY_CANCELED)
        xb_say(msg, msg_size, "decrypting the wrapped key was cancelled (pinentry)");
    else
        xb_say(msg, msg_size, "cannot decrypt the wrapped key: %s", gpg_text(err, why, sizeof why));
}

static xbcrypt_status decrypt_key(gpgme_ctx_t ctx, const void *wrapped, size_t wrapped_len,
                                  xbcrypt_key **out, char *msg, size_t msg_size)
{
    char why[128];
    struct key_sink sink = {.buf = xb_secure_alloc(SINK_CAP), .len = 0, .overflow = false};
    if (!sink.buf) {
        xb_say(msg, msg_size, "out of secure memory for the data key");
        return XBCRYPT_E_NOMEM;
    }
    struct gpgme_data_cbs cbs = {.read = NULL, .write = sink_write, .seek = NULL,
                                 .release = NULL};
    gpgme_data_t cipher = NULL, plain = NULL;
    gpgme_error_t err = gpgme_data_new_from_mem(&cipher, wrapped, wrapped_len, 0);
    if (!err)
        err = gpgme_data_new_from_cbs(&plain, &cbs, &sink);
    if (!err)
        err = sensitive(plain);
    xbcrypt_status st = XBCRYPT_OK;
    if (err) {
        xb_say(msg, msg_size, "cannot set up GPGME data: %s", gpg_text(err, why, sizeof why));
        st = gpgme_err_code(err) == GPG_ERR_ENOMEM ? XBCRYPT_E_NOMEM : XBCRYPT_E_CRYPTO;
    } else {
        err = gpgme_op_decrypt(ctx, cipher, plain);
        gpgme_decrypt_result_t res = gpgme_op_decrypt_result(ctx);
        if (sink.overflow) {
            xb_say(msg, msg_size, "the wrapped key decrypts to more than %u bytes: it is not a "
                   "data key made by xbcrypt",
                   XB_ENVELOPE_KEY_SIZE);
            st = XBCRYPT_E_KEY;
        } else if (err) {
            explain_decrypt(ctx, err, msg, msg_size);
            st = XBCRYPT_E_KEY;
        } else if (!res || !res->recipients) {
            /* GPGME answers "no data" for literal or signed-only data;
             * this also refuses a message gpg opened without any public
             * key (a passphrase-only one): not made by wrap(). */
            xb_say(msg, msg_size, "the wrapped key is not encrypted to any public key");
            st = XBCRYPT_E_KEY;
        } else if (sink.len != XB_ENVELOPE_KEY_SIZE) {
            xb_say(msg, msg_size, "the wrapped key decrypts to %zu bytes, not %u: it is not a "
                   "data key made by xbcrypt",
                   sink.len, XB_ENVELOPE_KEY_SIZE);
            st = XBCRYPT_E_KEY;
        }
    }
    gpgme_data_release(plain);
    gpgme_data_release(cipher);
    if (st == XBCRYPT_OK)
        st = xb_key_from_bytes(sink.buf, sink.len, out, msg, msg_size);
    xb_secure_free(sink.buf, SINK_CAP);
    return st;
}

static xbcrypt_status check_wrapped(const void *wrapped, size_t wrapped_len, char *msg,
                                    size_t msg_size)
{
    if (!wrapped || wrapped_len == 0) {
        xb_say(msg, msg_size, "the wrapped key is empty");
        return wrapped ? XBCRYPT_E_KEY : XBCRYPT_E_ARG;
    }
    if (wrapped_len > XB_ENVELOPE_WRAPPED_MAX) {
        xb_say(msg, msg_size, "the wrapped key is larger than %u bytes: not a wrapped key file",
               XB_ENVELOPE_WRAPPED_MAX);
        return XBCRYPT_E_KEY;
    }
    return XBCRYPT_OK;
}

xbcrypt_status xb_envelope_unwrap(const void *wrapped, size_t wrapped_len, xbcrypt_key **key,
                                  char *msg, size_t msg_size)
{
    clear_msg(msg, msg_size);
    if (!key) {
        xb_say(msg, msg_size, "unwrap: key must not be NULL");
        return XBCRYPT_E_ARG;
    }
    *key = NULL;
    xbcrypt_status st = check_wrapped(wrapped, wrapped_len, msg, msg_size);
    if (st != XBCRYPT_OK)
        return st;
    gpgme_ctx_t ctx;
    if ((st = start(&ctx, msg, msg_size)) != XBCRYPT_OK)
        return st;
    st = decrypt_key(ctx, wrapped, wrapped_len, key, msg, msg_size);
    gpgme_release(ctx);
    return st;
}

/* Where wrap and rewrap get the data key: a fresh one, or the old wrapped
 * one decrypted. */
typedef xbcrypt_status (*key_source)(gpgme_ctx_t ctx, const void *wrapped, size_t wrapped_len,
                                     xbcrypt_key **out, char *msg, size_t msg_size);

/*
 * The data key from `source`, encrypted to every recipient into *out.
 * Every recipient is looked up first, so a bad one fails before a key
 * exists or a private key (and its smartcard PIN) is used.  The key goes
 * to *key_out when it is non-NULL, else it is wiped.
 */
static xbcrypt_status wrap_to(const char *const *fprs, size_t n_fprs, key_source source,
                              const void *wrapped, size_t wrapped_len, void **out,
                              size_t *out_len, xbcrypt_key **key_out, char *msg, size_t msg_size)
{
    gpgme_ctx_t ctx;
    xbcrypt_status st = start(&ctx, msg, msg_size);
    if (st != XBCRYPT_OK)
        return st;
    struct recipient keys[XB_ENVELOPE_RECIPIENTS_MAX];
    st = get_recipients(ctx, fprs, n_fprs, keys, msg, msg_size);
    if (st != XBCRYPT_OK) {
        gpgme_release(ctx);
        return st;
    }
    xbcrypt_key *k = NULL;
    st = source(ctx, wrapped, wrapped_len, &k, msg, msg_size);
    if (st == XBCRYPT_OK)
        st = encrypt_to(ctx, keys, n_fprs, k, out, out_len, msg, msg_size);
    unref_keys(keys, n_fprs);
    gpgme_release(ctx);
    if (st == XBCRYPT_OK && key_out)
        *key_out = k;
    else
        xb_key_free(k);
    return st;
}

xbcrypt_status xb_envelope_wrap(const char *const *fprs, size_t n_fprs, void **wrapped,
                                size_t *wrapped_len, xbcrypt_key **key, char *msg,
                                size_t msg_size)
{
    clear_msg(msg, msg_size);
    if (wrapped)
        *wrapped = NULL;
    if (wrapped_len)
        *wrapped_len = 0;
    if (key)
        *key = NULL;
    if (!wrapped || !wrapped_len || !key) {
        xb_say(msg, msg_size, "wrap: wrapped, wrapped_len and key must not be NULL");
        return XBCRYPT_E_ARG;
    }
    xbcrypt_status st = check_list(fprs, n_fprs, msg, msg_size);
    if (st != XBCRYPT_OK)
        return st;

    return wrap_to(fprs, n_fprs, fresh_key, NULL, 0, wrapped, wrapped_len, key, msg, msg_size);
}

xbcrypt_status xb_envelope_rewrap(const void *wrapped, size_t wrapped_len,
                                  const char *const *fprs, size_t n_fprs, void **out,
                                  size_t *out_len, char *msg, size_t msg_size)
{
    clear_msg(msg, msg_size);
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!out || !out_len) {
        xb_say(msg, msg_size, "rewrap: out and out_len must not be NULL");
        return XBCRYPT_E_ARG;
    }
    xbcrypt_status st = check_list(fprs, n_fprs, msg, msg_size);
    if (st == XBCRYPT_OK)
        st = check_wrapped(wrapped, wrapped_len, msg, msg_size);
    if (st != XBCRYPT_OK)
        return st;

    return wrap_to(fprs, n_fprs, decrypt_key, wrapped, wrapped_len, out, out_len, NULL, msg,
                   msg_size);
}

void xb_envelope_free(void *wrapped)
{
    if (wrapped)
        gpgme_free(wrapped);
}
