/*
 * xbc_options.h - the command line of the xbcrypt drop-in.
 *
 * xbc_parse_args() is a pure function over argv: it never prints, exits,
 * reads the environment or touches a file, so it can be unit-tested and
 * fuzzed.  main() turns its result into messages and an exit status.
 *
 * Spellings accepted (docs: /work/shared/spec/xbcrypt-cli.md, "Spellings"):
 *   --name=value  --name value  -xVALUE  -x VALUE  bundled flags (-dv)
 *   '_' and '-' are the same inside long names
 *   --loose-NAME for any option; an unknown --loose-NAME is ignored with a
 *   warning
 *   numbers in decimal with an optional K, M or G suffix (powers of 1024,
 *   any case); a value under an option's minimum is raised to it with a
 *   warning
 */
#ifndef XBC_OPTIONS_H
#define XBC_OPTIONS_H

#include <xbcrypt/xbcrypt.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most worker threads accepted by --encrypt-threads. */
#define XBC_THREADS_MAX 256u
/* Largest --read-buffer-size accepted (1 TiB): far beyond any use, and far
 * from any overflow in the engine's arithmetic. */
#define XBC_READ_BUFFER_MAX ((uint64_t)1 << 40)
/* Most --recipient options accepted (the engine's limit). */
#define XBC_RECIPIENTS_MAX 64u
/* Warnings kept by one parse, and the length of each. */
#define XBC_WARNINGS_MAX 8
#define XBC_MESSAGE_MAX 256

/* What main() should do after a parse. */
enum xbc_args_result {
    XBC_ARGS_RUN = 0,     /* options complete and valid: encrypt or decrypt, or the
                             mode in xbc_options.mode */
    XBC_ARGS_HELP,        /* --help / -?: print usage on stdout, exit 0 */
    XBC_ARGS_VERSION,     /* --version / -V: print one line on stdout, exit 0 */
    XBC_ARGS_ERROR,       /* a usage error; err says what */
    XBC_ARGS_KEY_REFUSED, /* --encrypt-key / -k was given (any spelling); err names
                             the option, never its value */
    XBC_ARGS_NO_ALGO      /* no --encrypt-algo; err says why it is required (not for
                             --verify and --info, which do not need one) */
};

/* What the run does besides plain encrypt / decrypt (issue 6). */
enum xbc_mode {
    XBC_MODE_CRYPT = 0, /* encrypt, or decrypt with -d */
    XBC_MODE_VERIFY,    /* --verify: decrypt and check every chunk, write nothing */
    XBC_MODE_REKEY,     /* --rekey: decrypt under -f, encrypt under --new-encrypt-key-file */
    XBC_MODE_INFO,      /* --info: list the chunks, no key */
    XBC_MODE_REWRAP     /* --rewrap: the data key of --wrapped-key-file to new
                           --recipient keys, into --new-wrapped-key-file (issue 7) */
};

/* --progress / --no-progress; the last one given wins. */
enum xbc_progress_mode {
    XBC_PROGRESS_AUTO = 0, /* when stderr is a terminal */
    XBC_PROGRESS_ON,
    XBC_PROGRESS_OFF
};

struct xbc_options {
    enum xbc_mode mode;        /* --verify, --rekey or --info; at most one */
    enum xbc_progress_mode progress;
    const char *new_key_file;  /* --new-encrypt-key-file (--rekey only); NULL when absent */
    bool new_algo_given;       /* --new-encrypt-algo seen (--rekey only) */
    xbcrypt_algo new_algo;     /* --new-encrypt-algo, else algo; valid for --rekey */
    bool decrypt;              /* --decrypt / -d (set by --verify too) */
    bool verbose;              /* --verbose / -v */
    const char *input;         /* --input / -i; NULL = stdin; points into argv */
    const char *output;        /* --output / -o; NULL = stdout; points into argv */
    const char *key_file;      /* --encrypt-key-file / -f; NULL when absent */
    bool algo_given;           /* --encrypt-algo / -a seen */
    xbcrypt_algo algo;         /* valid when algo_given; --verify with a key file and
                                  no -a: AES256 (the key's length picks the AES) */
    uint64_t chunk_size;       /* --encrypt-chunk-size / -s */
    uint64_t read_buffer_size; /* --read-buffer-size / -r */
    unsigned threads;          /* --encrypt-threads / -t */
    /* The public-key envelope (issue 7); pointers into argv, NULL when absent. */
    const char *wrapped_key_file;     /* --wrapped-key-file */
    const char *new_wrapped_key_file; /* --new-wrapped-key-file (--rewrap only) */
    unsigned n_recipients;            /* --recipient, each time it is given */
    /* --xbstream (issue 11): the input is an XBSTREAM archive and every mode
     * (encrypt, -d, --verify, --rekey, --info) works member by member. */
    bool xbstream;
    const char *recipients[XBC_RECIPIENTS_MAX];

    /* For XBC_ARGS_ERROR, XBC_ARGS_KEY_REFUSED and XBC_ARGS_NO_ALGO: what to do
     * about it (static text, no prefix), or NULL. */
    const char *hint;

    /* Warnings met while parsing, to print on stderr (without the
     * "xbcrypt: warning: " prefix).  Kept even when the parse fails. */
    unsigned n_warnings;
    char warnings[XBC_WARNINGS_MAX][XBC_MESSAGE_MAX];
};

/*
 * Parses argv[1 .. argc-1] into *out (which is fully reset first).  On
 * XBC_ARGS_ERROR, XBC_ARGS_KEY_REFUSED and XBC_ARGS_NO_ALGO a one-line
 * explanation (lower-case, no final period, no prefix) goes to err when
 * errlen > 0.  Messages never quote an option's value, only its name, so a
 * secret typed into a misspelt option is not echoed.  A refused key option
 * wins over every other error: it is reported even when something else on
 * the line is wrong too.  argv is not modified.
 */
enum xbc_args_result xbc_parse_args(int argc, char **argv, struct xbc_options *out, char *err,
                                    size_t errlen);

/* Canonical name of an algorithm ("AES256"). */
const char *xbc_algo_name(xbcrypt_algo algo);

/*
 * Parses a size: decimal digits with an optional K, M or G suffix (any
 * case, powers of 1024).  Returns 0 and sets *value, -1 when s is not such
 * a number, -2 when it does not fit in 64 bits.
 */
int xbc_parse_size(const char *s, uint64_t *value);

#endif /* XBC_OPTIONS_H */
