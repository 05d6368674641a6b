/* xbc_options.c - the command line of the xbcrypt drop-in; see xbc_options.h. */
#include "xbc_options.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum opt_id {
    OPT_HELP,
    OPT_VERSION,
    OPT_DECRYPT,
    OPT_INPUT,
    OPT_OUTPUT,
    OPT_ALGO,
    OPT_KEY_FILE,
    OPT_KEY,
    OPT_CHUNK_SIZE,
    OPT_THREADS,
    OPT_READ_BUFFER,
    OPT_VERBOSE,
    OPT_VERIFY,
    OPT_REKEY,
    OPT_INFO,
    OPT_NEW_KEY_FILE,
    OPT_NEW_ALGO,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_RECIPIENT,
    OPT_WRAPPED_KEY_FILE,
    OPT_NEW_WRAPPED_KEY_FILE,
    OPT_REWRAP,
    OPT_XBSTREAM
};

struct opt_def {
    const char *name; /* long name, with '-' */
    char short_name;  /* 0 when none */
    enum opt_id id;
    bool takes_value; /* a value is required; it may also be the next argument */
};

/*
 * Every option of the spec.  Later options (--verify, --rekey, --info,
 * --progress, --new-encrypt-key-file, --recipient, ...) are one more row
 * here and one more case in apply().
 *
 * Percona's parser gives --encrypt-threads and --read-buffer-size an
 * optional value, and then drops a separated one ("-t 4" means 1 thread).
 * Here every option with a value takes the separated form too: that is what
 * the user meant, and either way the output is a valid stream.
 */
static const struct opt_def options[] = {
    {"help", '?', OPT_HELP, false},
    {"version", 'V', OPT_VERSION, false},
    {"decrypt", 'd', OPT_DECRYPT, false},
    {"input", 'i', OPT_INPUT, true},
    {"output", 'o', OPT_OUTPUT, true},
    {"encrypt-algo", 'a', OPT_ALGO, true},
    {"encrypt-key-file", 'f', OPT_KEY_FILE, true},
    {"encrypt-key", 'k', OPT_KEY, true},
    {"encrypt-chunk-size", 's', OPT_CHUNK_SIZE, true},
    {"encrypt-threads", 't', OPT_THREADS, true},
    {"read-buffer-size", 'r', OPT_READ_BUFFER, true},
    {"verbose", 'v', OPT_VERBOSE, false},
    /* Issue 6.  Long names only, none a name or a prefix of Percona's
     * (help, version, decrypt, input, output, encrypt-algo, encrypt-key,
     * encrypt-key-file, encrypt-chunk-size, encrypt-threads,
     * read-buffer-size, verbose), and no short letters Percona might take. */
    {"verify", 0, OPT_VERIFY, false},
    {"rekey", 0, OPT_REKEY, false},
    {"info", 0, OPT_INFO, false},
    {"new-encrypt-key-file", 0, OPT_NEW_KEY_FILE, true},
    {"new-encrypt-algo", 0, OPT_NEW_ALGO, true},
    {"progress", 0, OPT_PROGRESS, false},
    {"no-progress", 0, OPT_NO_PROGRESS, false},
    /* Issue 7, the public-key envelope: long names only, none a name or a
     * prefix of Percona's. */
    {"recipient", 0, OPT_RECIPIENT, true},
    {"wrapped-key-file", 0, OPT_WRAPPED_KEY_FILE, true},
    {"new-wrapped-key-file", 0, OPT_NEW_WRAPPED_KEY_FILE, true},
    {"rewrap", 0, OPT_REWRAP, false},
    /* Issue 11: the input is an XBSTREAM archive, worked member by member.
     * Long name only, not a name or prefix of Percona's. */
    {"xbstream", 0, OPT_XBSTREAM, false},
};

#define N_OPTIONS (sizeof options / sizeof options[0])

static const char *const algo_names[] = {"NONE", "AES128", "AES192", "AES256"};

static const char hint_key_file[] =
    "put the key in a file only you can read and pass --encrypt-key-file=KEYFILE; make a new "
    "key with: (umask 077; openssl rand -out KEYFILE 32), or store an existing one without a "
    "trailing newline with: (umask 077; printf %s 'KEY' > KEYFILE)";

/* The state of one parse. */
struct parser {
    struct xbc_options *out;
    char *err;
    size_t errlen;
    bool failed;      /* a usage error was recorded in err */
    bool key_refused; /* --encrypt-key / -k seen */
    bool help;
    bool version;
    const char *mode_name; /* the first of --verify, --rekey, --info, --rewrap seen */
};

const char *xbc_algo_name(xbcrypt_algo algo)
{
    if ((int)algo >= 0 && (size_t)algo < sizeof algo_names / sizeof algo_names[0])
        return algo_names[algo];
    return "?";
}

int xbc_parse_size(const char *s, uint64_t *value)
{
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    uint64_t v = 0;
    bool overflow = false;
    for (; isdigit((unsigned char)*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
    }
    unsigned shift = 0;
    switch (*s) {
    case '\0':
        break;
    case 'k':
    case 'K':
        shift = 10;
        s++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        s++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        s++;
        break;
    default:
        return -1;
    }
    if (*s != '\0')
        return -1;
    if (overflow || (shift && v > (UINT64_MAX >> shift)))
        return -2;
    *value = v << shift;
    return 0;
}

/* Records the first usage error; later ones are dropped. */
__attribute__((format(printf, 2, 3))) static void fail(struct parser *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    if (p->err && p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
    }
}

/* Ends a parse that cannot run with result r: the explanation in err (it
 * replaces any usage error recorded there), what to do in out->hint. */
__attribute__((format(printf, 4, 5))) static enum xbc_args_result
refuse(struct parser *p, enum xbc_args_result r, const char *hint, const char *fmt, ...)
{
    if (p->err && p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
    }
    p->out->hint = hint;
    return r;
}

__attribute__((format(printf, 2, 3))) static void warn(struct parser *p, const char *fmt, ...)
{
    struct xbc_options *o = p->out;
    if (o->n_warnings >= XBC_WARNINGS_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->warnings[o->n_warnings], XBC_MESSAGE_MAX, fmt, ap);
    va_end(ap);
    o->n_warnings++;
}

static const struct opt_def *find_long(const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strcmp(options[i].name, name) == 0)
            return &options[i];
    return NULL;
}

static const struct opt_def *find_short(char c)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].short_name == c)
            return &options[i];
    return NULL;
}

/* Reads a number option into *dst, raising it to `min` with a warning and
 * refusing it above `max`. */
static void number(struct parser *p, const struct opt_def *d, const char *value, uint64_t min,
                   uint64_t max, const char *max_why, uint64_t *dst)
{
    uint64_t v;
    int rc = xbc_parse_size(value, &v);
    if (rc == -1) {
        fail(p, "--%s takes a number, with an optional K, M or G suffix", d->name);
        return;
    }
    if (rc == -2 || v > max) {
        fail(p, "--%s is too large: at most %llu%s", d->name, (unsigned long long)max, max_why);
        return;
    }
    if (v < min) {
        warn(p, "--%s=%llu is below the minimum; using %llu", d->name, (unsigned long long)v,
             (unsigned long long)min);
        v = min;
    }
    *dst = v;
}

static void need_path(struct parser *p, const struct opt_def *d, const char *value,
                      const char **dst)
{
    if (value[0] == '\0') {
        fail(p, "--%s needs a file name, and it is empty", d->name);
        return;
    }
    *dst = value;
}

/* An algorithm name into *dst; false (and a usage error) when unknown. */
static bool algo_value(struct parser *p, const struct opt_def *d, const char *value,
                       xbcrypt_algo *dst)
{
    for (size_t i = 0; i < sizeof algo_names / sizeof algo_names[0]; i++)
        if (strcasecmp(value, algo_names[i]) == 0) {
            *dst = (xbcrypt_algo)i;
            return true;
        }
    fail(p, "unknown --%s: use NONE, AES128, AES192 or AES256", d->name);
    return false;
}

/* --verify, --rekey, --info, --rewrap: one mode per run (repeating the same
 * is fine). */
static void set_mode(struct parser *p, const struct opt_def *d)
{
    static const enum xbc_mode modes[] = {
        [OPT_VERIFY] = XBC_MODE_VERIFY, [OPT_REKEY] = XBC_MODE_REKEY, [OPT_INFO] = XBC_MODE_INFO,
        [OPT_REWRAP] = XBC_MODE_REWRAP};
    if (p->mode_name && strcmp(p->mode_name, d->name) != 0) {
        fail(p, "--%s and --%s cannot be combined: give one of --verify, --rekey, --info and "
             "--rewrap",
             p->mode_name, d->name);
        return;
    }
    p->mode_name = d->name;
    p->out->mode = modes[d->id];
}

/* Applies one option.  `value` is NULL for options without one. */
static void apply(struct parser *p, const struct opt_def *d, const char *value)
{
    struct xbc_options *o = p->out;
    uint64_t v;
    switch (d->id) {
    case OPT_HELP:
        p->help = true;
        break;
    case OPT_VERSION:
        p->version = true;
        break;
    case OPT_DECRYPT:
        o->decrypt = true;
        break;
    case OPT_VERBOSE:
        o->verbose = true;
        break;
    case OPT_INPUT:
        need_path(p, d, value, &o->input);
        break;
    case OPT_OUTPUT:
        need_path(p, d, value, &o->output);
        break;
    case OPT_KEY_FILE:
        need_path(p, d, value, &o->key_file);
        break;
    case OPT_KEY:
        /* The value is swallowed here and never looked at again. */
        p->key_refused = true;
        break;
    case OPT_ALGO:
        o->algo_given = algo_value(p, d, value, &o->algo) || o->algo_given;
        break;
    case OPT_NEW_ALGO:
        o->new_algo_given = algo_value(p, d, value, &o->new_algo) || o->new_algo_given;
        break;
    case OPT_NEW_KEY_FILE:
        need_path(p, d, value, &o->new_key_file);
        break;
    case OPT_VERIFY:
    case OPT_REKEY:
    case OPT_INFO:
    case OPT_REWRAP:
        set_mode(p, d);
        break;
    case OPT_PROGRESS:
        o->progress = XBC_PROGRESS_ON;
        break;
    case OPT_RECIPIENT:
        if (value[0] == '\0')
            fail(p, "--recipient needs a key's full fingerprint, and it is empty");
        else if (o->n_recipients >= XBC_RECIPIENTS_MAX)
            fail(p, "--recipient is given more than %u times", XBC_RECIPIENTS_MAX);
        else
            o->recipients[o->n_recipients++] = value;
        break;
    case OPT_WRAPPED_KEY_FILE:
        need_path(p, d, value, &o->wrapped_key_file);
        break;
    case OPT_NEW_WRAPPED_KEY_FILE:
        need_path(p, d, value, &o->new_wrapped_key_file);
        break;
    case OPT_NO_PROGRESS:
        o->progress = XBC_PROGRESS_OFF;
        break;
    case OPT_XBSTREAM:
        o->xbstream = true;
        break;
    case OPT_CHUNK_SIZE:
        number(p, d, value, XBCRYPT_CHUNK_SIZE_MIN, XBCRYPT_CHUNK_SIZE_MAX,
               " bytes, the format's limit", &o->chunk_size);
        break;
    case OPT_THREADS:
        v = o->threads;
        number(p, d, value, 1, XBC_THREADS_MAX, " threads", &v);
        o->threads = (unsigned)v;
        break;
    case OPT_READ_BUFFER:
        number(p, d, value, 1, XBC_READ_BUFFER_MAX, " bytes", &o->read_buffer_size);
        break;
    }
}

/* "--name[=value]" at argv[*i]; may take argv[*i + 1] as the value. */
static void long_option(struct parser *p, int argc, char **argv, int *i)
{
    const char *body = argv[*i] + 2;
    const char *eq = strchr(body, '=');
    size_t len = eq ? (size_t)(eq - body) : strlen(body);
    /* Longer than any option, even with "loose-": unknown, shown cut. */
    char name[64];
    if (len >= sizeof name) {
        fail(p, "unknown option '--%.40s...'", body);
        return;
    }
    for (size_t k = 0; k < len; k++)
        name[k] = body[k] == '_' ? '-' : body[k];
    name[len] = '\0';

    const char *lookup = name;
    bool loose = strncmp(name, "loose-", 6) == 0;
    if (loose)
        lookup = name + 6;
    const struct opt_def *d = find_long(lookup);
    if (!d) {
        if (loose)
            warn(p, "ignoring unknown option '--%s'", name);
        else
            fail(p, "unknown option '--%s'", name);
        return;
    }

    const char *value = NULL;
    if (d->takes_value) {
        if (eq)
            value = eq + 1;
        else if (*i + 1 < argc && argv[*i + 1])
            value = argv[++*i];
        else if (d->id != OPT_KEY) {
            fail(p, "--%s needs a value", d->name);
            return;
        }
    } else if (eq) {
        fail(p, "--%s takes no value", d->name);
        return;
    }
    apply(p, d, value);
}

/* "-abc" at argv[*i]: flags may be bundled; the first option with a value
 * takes the rest of the word, or the next argument. */
static void short_options(struct parser *p, int argc, char **argv, int *i)
{
    const char *s = argv[*i] + 1;
    for (; *s; s++) {
        const struct opt_def *d = find_short(*s);
        if (!d) {
            if (isprint((unsigned char)*s))
                fail(p, "unknown option '-%c'", *s);
            else
                fail(p, "unknown option '-\\x%02x'", (unsigned)(unsigned char)*s);
            return;
        }
        if (!d->takes_value) {
            apply(p, d, NULL);
            continue;
        }
        const char *value = NULL;
        if (s[1])
            value = s + 1;
        else if (*i + 1 < argc && argv[*i + 1])
            value = argv[++*i];
        else if (d->id != OPT_KEY) {
            fail(p, "-%c (--%s) needs a value", *s, d->name);
            return;
        }
        apply(p, d, value);
        return;
    }
}

/* What each mode takes and refuses, apart from the algorithm and keys. */
static void check_mode(struct parser *p)
{
    struct xbc_options *o = p->out;
    if (o->mode != XBC_MODE_REKEY && o->new_key_file)
        fail(p, "--new-encrypt-key-file is only used with --rekey");
    if (o->mode != XBC_MODE_REKEY && o->new_algo_given)
        fail(p, "--new-encrypt-algo is only used with --rekey");
    if (o->mode == XBC_MODE_VERIFY && o->output)
        fail(p, "--verify writes no output: --output is not used with it");
    if (o->mode == XBC_MODE_INFO && o->output)
        fail(p, "--info writes its listing on standard output: --output is not used with it");
    if (o->mode == XBC_MODE_INFO && o->key_file)
        fail(p, "--info reads chunk headers and checks CRCs with no key: --encrypt-key-file is "
                "not used with it (--verify checks the data under the key)");
    if (o->mode == XBC_MODE_VERIFY)
        o->decrypt = true;
}

/* --rekey, once the old algorithm and key file are known to be there. */
static enum xbc_args_result check_rekey(struct parser *p)
{
    struct xbc_options *out = p->out;
    if (!out->new_algo_given)
        out->new_algo = out->algo;
    if (out->new_algo == XBCRYPT_ALGO_NONE)
        return refuse(p, XBC_ARGS_ERROR,
                      "pass --new-encrypt-algo=AES256; to write plaintext on purpose, use "
                      "--decrypt",
                      "--rekey would write the data unencrypted: the new algorithm is NONE");
    if (!out->new_key_file)
        return refuse(p, XBC_ARGS_ERROR, hint_key_file,
                      "--rekey needs the new key: --new-encrypt-key-file is missing");
    return XBC_ARGS_RUN;
}

/* The public-key envelope's options (issue 7): what goes with what. */
static void check_envelope(struct parser *p)
{
    struct xbc_options *o = p->out;
    bool decrypting = o->decrypt || o->mode == XBC_MODE_VERIFY || o->mode == XBC_MODE_REKEY;
    if (o->mode == XBC_MODE_REWRAP) {
        if (!o->wrapped_key_file)
            fail(p, "--rewrap needs the wrapped-key file to read: --wrapped-key-file is missing");
        else if (!o->new_wrapped_key_file)
            fail(p, "--rewrap needs the file to write: --new-wrapped-key-file is missing");
        else if (o->n_recipients == 0)
            fail(p, "--rewrap needs the new recipients: give --recipient (a full fingerprint) "
                    "at least once");
        else if (o->decrypt || o->input || o->output || o->key_file || o->algo_given)
            fail(p, "--rewrap touches no data: --decrypt, --input, --output, "
                    "--encrypt-key-file and --encrypt-algo are not used with it");
        return;
    }
    if (o->new_wrapped_key_file)
        fail(p, "--new-wrapped-key-file is only used with --rewrap");
    if (o->key_file && o->wrapped_key_file)
        fail(p, "--encrypt-key-file and --wrapped-key-file cannot be combined: the key comes "
                "from one of them");
    if (o->n_recipients && !o->wrapped_key_file)
        fail(p, "--recipient needs --wrapped-key-file: the file that will hold the data key "
                "wrapped to the recipients");
    if (!o->wrapped_key_file)
        return;
    if (o->mode == XBC_MODE_INFO)
        fail(p, "--info reads no key: --wrapped-key-file is not used with it");
    else if (decrypting && o->n_recipients)
        fail(p, "--recipient is for encrypting and --rewrap: decrypting needs only "
                "--wrapped-key-file (gpg finds the private key)");
    else if (!decrypting && o->n_recipients == 0)
        fail(p, "encrypting with --wrapped-key-file needs at least one --recipient (a full "
                "fingerprint)");
    else if (o->algo_given && o->algo == XBCRYPT_ALGO_NONE)
        fail(p, "--wrapped-key-file holds an AES key: --encrypt-algo=NONE has no use for it");
    else if (!decrypting && o->algo_given && o->algo != XBCRYPT_ALGO_AES256)
        fail(p, "--recipient makes a 32-byte data key, an AES-256 key: use "
                "--encrypt-algo=AES256");
}

enum xbc_args_result xbc_parse_args(int argc, char **argv, struct xbc_options *out, char *err,
                                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->algo = XBCRYPT_ALGO_NONE;
    out->chunk_size = XBCRYPT_CHUNK_SIZE_DEFAULT;
    out->read_buffer_size = XBCRYPT_READ_BUFFER_DEFAULT;
    out->threads = 1;
    if (err && errlen)
        err[0] = '\0';

    struct parser p = {.out = out, .err = err, .errlen = errlen};
    bool options_end = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!a)
            break;
        if (!options_end && strcmp(a, "--") == 0)
            options_end = true;
        else if (!options_end && a[0] == '-' && a[1] == '-')
            long_option(&p, argc, argv, &i);
        else if (!options_end && a[0] == '-' && a[1] != '\0')
            short_options(&p, argc, argv, &i);
        else
            /* Not quoted: it may be a secret typed in the wrong place. */
            fail(&p,
                 "unexpected argument number %d: xbcrypt takes no file operands (use --input "
                 "and --output)",
                 i);
    }

    check_mode(&p);
    check_envelope(&p);
    if (out->xbstream && out->mode == XBC_MODE_REWRAP)
        fail(&p, "--rewrap touches no data: --xbstream is not used with it");
    if (p.key_refused)
        return refuse(&p, XBC_ARGS_KEY_REFUSED, hint_key_file,
                      "--encrypt-key (-k) is refused: a key on the command line can be read by "
                      "every user of this machine (ps, /proc/PID/cmdline)");
    if (p.failed) {
        out->hint = "see xbcrypt --help";
        return XBC_ARGS_ERROR;
    }
    if (p.help)
        return XBC_ARGS_HELP;
    if (p.version)
        return XBC_ARGS_VERSION;
    if (out->mode == XBC_MODE_REWRAP)
        return XBC_ARGS_RUN; /* no data, so no algorithm */
    if (out->mode == XBC_MODE_VERIFY || out->mode == XBC_MODE_INFO) {
        /* Neither needs an algorithm: without a key they check what can be
         * checked without one. */
        if (!out->algo_given)
            out->algo = XBCRYPT_ALGO_AES256;
        return XBC_ARGS_RUN;
    }
    if (!out->algo_given)
        return refuse(&p, XBC_ARGS_NO_ALGO,
                      "pass --encrypt-algo=AES256 (or --encrypt-algo=NONE to really store the "
                      "data unencrypted)",
                      "--encrypt-algo (-a) is required: Percona's xbcrypt defaults to NONE and "
                      "then silently writes data that is not encrypted");
    if (out->algo != XBCRYPT_ALGO_NONE && !out->key_file && !out->wrapped_key_file)
        return refuse(&p, XBC_ARGS_ERROR, hint_key_file,
                      "--encrypt-algo=%s needs a key: --encrypt-key-file is missing",
                      xbc_algo_name(out->algo));
    if (out->xbstream && out->mode == XBC_MODE_CRYPT && !out->decrypt &&
        out->algo == XBCRYPT_ALGO_NONE)
        return refuse(&p, XBC_ARGS_ERROR,
                      "pass --encrypt-algo=AES256 and --encrypt-key-file=KEYFILE; without "
                      "encryption the archive needs no xbcrypt at all",
                      "--xbstream with --encrypt-algo=NONE would rename every member to "
                      "NAME.xbcrypt and leave its data unencrypted");
    if (out->mode == XBC_MODE_REKEY)
        return check_rekey(&p);
    return XBC_ARGS_RUN;
}
