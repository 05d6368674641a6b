/*
 * fuzz_options.c - the CLI option parser, xbc_parse_args(), on any argv.
 *
 * The input is split on NUL bytes into arguments (at most 200); argv[0] is
 * "xbcrypt".  Each argument lives in its own allocation of exactly its
 * length + 1, so a read past its NUL is a sanitizer report; a leak is one
 * too (LeakSanitizer runs with libFuzzer and with the ASan replay build).
 *
 * Invariants (abort() when one fails):
 *  - the result is one of enum xbc_args_result, and the same whatever
 *    error buffer is given (none, a short one, a long one); a short buffer
 *    gets a NUL-terminated prefix of the long one's message;
 *  - argv is not modified;
 *  - an error result has a message and a hint; help, version and run have
 *    no message; every warning is NUL-terminated, at most XBC_WARNINGS_MAX;
 *  - a run result is complete and in range: an algorithm (and a key file
 *    unless it is NONE) except for --verify and --info, a new key for
 *    --rekey, sizes and threads within their documented limits, and input /
 *    output / key files either NULL or pointing into argv;
 *  - no option value is quoted in a message: '@' and the letters and
 *    digits after it, in a value and in no other argument, never appear in
 *    the error or in any warning (see secret_in());
 *  - xbc_parse_size() agrees with an independent reading of every argument.
 */
#include "fuzz_harness.h"
#include "xbc_options.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)          \
    do {                     \
        if (!(cond))         \
            abort();         \
    } while (0)

#define MAX_ARGS 200
#define ERR_LONG 1024

/* An independent reading of a size: decimal digits and one optional K, M
 * or G (any case, powers of 1024); -1 malformed, -2 beyond 64 bits. */
static int size_oracle(const char *s, uint64_t *value)
{
    size_t i = 0;
    uint64_t v = 0;
    bool overflow = false;
    while (s[i] >= '0' && s[i] <= '9') {
        const uint64_t d = (uint64_t)(s[i] - '0');
        if (v > UINT64_MAX / 10 || v * 10 > UINT64_MAX - d)
            overflow = true;
        else
            v = v * 10 + d;
        i++;
    }
    if (i == 0)
        return -1;
    unsigned shift = 0;
    if (s[i] == 'k' || s[i] == 'K')
        shift = 10;
    else if (s[i] == 'm' || s[i] == 'M')
        shift = 20;
    else if (s[i] == 'g' || s[i] == 'G')
        shift = 30;
    if (shift)
        i++;
    if (s[i] != '\0')
        return -1;
    if (overflow || (shift && v > UINT64_MAX >> shift))
        return -2;
    *value = v << shift;
    return 0;
}

static bool points_into(const char *p, char **argv, int argc)
{
    for (int i = 1; i < argc; i++) {
        const size_t len = strlen(argv[i]);
        if (p >= argv[i] && p <= argv[i] + len)
            return true;
    }
    return false;
}

/*
 * The "secret" of argument `a`: '@' and the letters and digits right after
 * it (at most 63 bytes), when at least 4 bytes long and in a value (after
 * the '=' of a long option, past the first letter of a short one, or an
 * operand).  Messages quote option names, and always close a quoted name
 * with a byte that is not a letter or digit, so such a run can only show up
 * in a message if the parser quoted a value - or if some other argument
 * holds it too, which check_secrets() skips.  Returns false when `a` holds
 * no secret.
 */
static bool secret_in(const char *a, char out[64])
{
    const char *at = strchr(a, '@');
    if (!at)
        return false;
    if (a[0] == '-' && a[1] == '-') {
        const char *eq = strchr(a, '=');
        if (!eq || eq > at)
            return false;
    } else if (a[0] == '-' && at - a < 2) {
        return false;
    }
    size_t n = 1;
    while (n < 63 && ((at[n] >= 'a' && at[n] <= 'z') || (at[n] >= 'A' && at[n] <= 'Z') ||
                      (at[n] >= '0' && at[n] <= '9')))
        n++;
    if (n < 4)
        return false;
    memcpy(out, at, n);
    out[n] = '\0';
    return true;
}

static void check_secrets(char **argv, int argc, const char *err, const struct xbc_options *o)
{
    for (int i = 1; i < argc; i++) {
        char secret[64];
        if (!secret_in(argv[i], secret))
            continue;
        bool elsewhere = false;
        for (int j = 1; j < argc && !elsewhere; j++)
            elsewhere = j != i && strstr(argv[j], secret) != NULL;
        if (elsewhere)
            continue;
        CHECK(strstr(err, secret) == NULL);
        for (unsigned w = 0; w < o->n_warnings; w++)
            CHECK(strstr(o->warnings[w], secret) == NULL);
    }
}

static void check_run(const struct xbc_options *o, char **argv, int argc)
{
    /* --verify and --info need no algorithm and no key; --rekey needs a
     * new key and never writes NONE. */
    const bool keyless = o->mode == XBC_MODE_VERIFY || o->mode == XBC_MODE_INFO;
    /* Issue 7: --rewrap touches no data, so it takes no algorithm; a key
     * comes from -f or from --wrapped-key-file, never both. */
    const bool rewrap = o->mode == XBC_MODE_REWRAP;
    CHECK((int)o->mode >= XBC_MODE_CRYPT && (int)o->mode <= XBC_MODE_REWRAP);
    CHECK(o->algo_given || keyless || rewrap);
    CHECK((int)o->algo >= XBCRYPT_ALGO_NONE && (int)o->algo <= XBCRYPT_ALGO_AES256);
    CHECK(o->algo == XBCRYPT_ALGO_NONE || o->key_file != NULL || o->wrapped_key_file != NULL ||
          keyless || rewrap);
    CHECK(!(o->key_file && o->wrapped_key_file));
    CHECK(o->n_recipients <= XBC_RECIPIENTS_MAX);
    CHECK(o->n_recipients == 0 || o->wrapped_key_file != NULL);
    CHECK(rewrap == (o->new_wrapped_key_file != NULL));
    CHECK(!rewrap || (o->wrapped_key_file && o->n_recipients > 0 && !o->input && !o->output &&
                      !o->key_file && !o->decrypt));
    for (unsigned k = 0; k < o->n_recipients; k++)
        CHECK(o->recipients[k][0] != '\0' && points_into(o->recipients[k], argv, argc));
    CHECK(!keyless || o->output == NULL);
    CHECK(o->mode != XBC_MODE_VERIFY || o->decrypt);
    CHECK(o->mode != XBC_MODE_INFO || o->key_file == NULL);
    CHECK(o->mode == XBC_MODE_REKEY ||
          (o->new_key_file == NULL && !o->new_algo_given));
    CHECK(o->mode != XBC_MODE_REKEY ||
          (o->new_key_file != NULL && o->new_algo != XBCRYPT_ALGO_NONE));
    CHECK((int)o->progress >= XBC_PROGRESS_AUTO && (int)o->progress <= XBC_PROGRESS_OFF);
    const char *paths[6] = {o->input,        o->output,           o->key_file,
                            o->new_key_file, o->wrapped_key_file, o->new_wrapped_key_file};
    for (int k = 0; k < 6; k++)
        if (paths[k])
            CHECK(paths[k][0] != '\0' && points_into(paths[k], argv, argc));
    CHECK(o->chunk_size >= XBCRYPT_CHUNK_SIZE_MIN && o->chunk_size <= XBCRYPT_CHUNK_SIZE_MAX);
    CHECK(o->threads >= 1 && o->threads <= XBC_THREADS_MAX);
    CHECK(o->read_buffer_size >= 1 && o->read_buffer_size <= XBC_READ_BUFFER_MAX);
}

static void free_args(char **argv, int argc)
{
    for (int i = 1; i < argc; i++)
        free(argv[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char prog[] = "xbcrypt";
    char *argv[MAX_ARGS + 2];
    char *copy[MAX_ARGS + 2];
    int argc = 1;
    argv[0] = prog;
    copy[0] = prog;
    size_t start = 0;
    for (size_t i = 0; size > 0 && i <= size && argc <= MAX_ARGS; i++) {
        if (i < size && data[i] != 0)
            continue;
        if (i == size && start == size)
            break; /* a final NUL ends the last argument; it starts none */
        const size_t len = i - start;
        argv[argc] = malloc(len + 1);
        copy[argc] = malloc(len + 1);
        CHECK(argv[argc] && copy[argc]);
        memcpy(argv[argc], data + start, len);
        argv[argc][len] = '\0';
        memcpy(copy[argc], argv[argc], len + 1);
        argc++;
        start = i + 1;
    }
    argv[argc] = NULL;
    copy[argc] = NULL;

    /* The parse with a roomy error buffer. */
    char *err = malloc(ERR_LONG);
    CHECK(err);
    memset(err, 'x', ERR_LONG);
    struct xbc_options o;
    const enum xbc_args_result r = xbc_parse_args(argc, argv, &o, err, ERR_LONG);
    CHECK(r >= XBC_ARGS_RUN && r <= XBC_ARGS_NO_ALGO);
    CHECK(memchr(err, '\0', ERR_LONG) != NULL);
    const size_t errlen = strlen(err);
    CHECK(o.n_warnings <= XBC_WARNINGS_MAX);
    for (unsigned w = 0; w < o.n_warnings; w++)
        CHECK(memchr(o.warnings[w], '\0', XBC_MESSAGE_MAX) != NULL && o.warnings[w][0] != '\0');
    if (r == XBC_ARGS_ERROR || r == XBC_ARGS_KEY_REFUSED || r == XBC_ARGS_NO_ALGO)
        CHECK(errlen > 0 && o.hint != NULL && o.hint[0] != '\0');
    else
        CHECK(errlen == 0);
    if (r == XBC_ARGS_RUN)
        check_run(&o, argv, argc);
    check_secrets(argv, argc, err, &o);

    /* argv is left as it was. */
    for (int i = 1; i < argc; i++)
        CHECK(strcmp(argv[i], copy[i]) == 0);

    /* The same parse with no buffer, or a short one: same answer. */
    const size_t small = size % 5 == 0 ? 0 : 1 + size % 40;
    char *err2 = small ? malloc(small) : NULL;
    CHECK(!small || err2);
    struct xbc_options o2;
    const enum xbc_args_result r2 = xbc_parse_args(argc, argv, &o2, err2, small);
    CHECK(r2 == r);
    CHECK(o2.decrypt == o.decrypt && o2.algo == o.algo && o2.algo_given == o.algo_given &&
          o2.input == o.input && o2.output == o.output && o2.key_file == o.key_file &&
          o2.chunk_size == o.chunk_size && o2.threads == o.threads &&
          o2.read_buffer_size == o.read_buffer_size && o2.n_warnings == o.n_warnings &&
          o2.mode == o.mode && o2.progress == o.progress && o2.new_key_file == o.new_key_file &&
          o2.wrapped_key_file == o.wrapped_key_file &&
          o2.new_wrapped_key_file == o.new_wrapped_key_file && o2.n_recipients == o.n_recipients);
    if (small) {
        const size_t len2 = strlen(err2);
        CHECK(len2 < small && len2 <= errlen && memcmp(err2, err, len2) == 0);
    }
    free(err2);
    free(err);

    /* The size reader against its description. */
    for (int i = 1; i < argc; i++) {
        uint64_t got = 0, want = 0;
        const int rc = xbc_parse_size(argv[i], &got);
        CHECK(rc == size_oracle(argv[i], &want));
        if (rc == 0)
            CHECK(got == want);
    }
    for (int a = 0; a <= 5; a++)
        CHECK(xbc_algo_name((xbcrypt_algo)a) != NULL);

    free_args(argv, argc);
    free_args(copy, argc);
    return 0;
}
