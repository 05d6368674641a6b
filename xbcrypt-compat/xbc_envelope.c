/* xbc_envelope.c - the public-key envelope on the command line; see xbc_envelope.h. */
#include "xbc_envelope.h"

#include "xbc_common.h"
#include "xbc_options.h"
#include "xbc_output.h"
#include "xb_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A wrapped key is a few hundred bytes per recipient; the engine refuses
 * more than 1 MiB, so read one byte beyond that to notice. */
#define WRAPPED_READ_MAX ((size_t)1 << 20)

static const char hint_exists[] =
    "each backup gets its own data key and its own wrapped-key file: choose a new name (the "
    "existing file may be the only way to read an older backup)";

/* Reads a whole wrapped-key file (it is not secret: the data key inside is
 * encrypted).  NULL after printing why. */
static void *read_wrapped(const char *path, size_t *len)
{
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int e = errno;
        error("cannot open the wrapped-key file %s: %s", path, strerror(e));
        if (e == ENOENT)
            hint("give the file that was written beside this backup by xbcrypt --recipient=... "
                 "--wrapped-key-file=PATH");
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        error("cannot read the wrapped-key file %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        error("cannot read the wrapped-key file %s: %s", path,
              S_ISDIR(st.st_mode) ? "it is a directory" : "not a regular file");
        close(fd);
        return NULL;
    }
    unsigned char *buf = malloc(WRAPPED_READ_MAX + 1);
    if (!buf) {
        error("out of memory");
        close(fd);
        return NULL;
    }
    size_t n = 0;
    while (n <= WRAPPED_READ_MAX) {
        ssize_t r = read(fd, buf + n, WRAPPED_READ_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            error("reading the wrapped-key file %s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n == 0 || n > WRAPPED_READ_MAX) {
        error("the wrapped-key file %s is %s", path,
              n == 0 ? "empty" : "larger than 1 MiB: not a wrapped-key file");
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Refuses an existing path before any work is done (O_EXCL still decides
 * later; this only fails early, before gpg runs). */
static int check_absent(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        error("the wrapped-key file %s already exists, and it is never replaced", path);
        hint("%s", hint_exists);
        return -1;
    }
    if (errno != ENOENT) {
        error("cannot create the wrapped-key file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The wrapped-key file this run made, for the signal handler of main.c: it
 * may only read these two. */
static const char *volatile sig_created;
static volatile sig_atomic_t sig_created_active;

void xbc_envelope_unlink_from_signal(void)
{
    if (sig_created_active)
        unlink(sig_created);
}

/*
 * Writes the wrapped key as a new file at path, through a temporary that
 * becomes path only once it is whole and synced (xbc_output_create(): an
 * unnamed O_TMPFILE file linked in, or a named one renamed, never over
 * anything that exists at path, whoever made it meanwhile), so a crash can
 * never leave a partial one.  With `track`, the file is also registered
 * for removal by a fatal signal before the run's end, atomically with its
 * appearance.  On failure nothing is left at path.  Returns 0, or -1 after
 * printing why.
 */
static int create_wrapped(const char *path, const void *data, size_t len, bool track)
{
    char err[1024];
    struct xbc_output out;
    if (xbc_output_create(&out, path, 0666, err, sizeof err) != 0) {
        if (errno == EEXIST) {
            error("cannot create the wrapped-key file %s: %s", path, strerror(EEXIST));
            hint("%s", hint_exists);
        } else {
            error("the wrapped-key file: %s", err);
        }
        return -1;
    }
    struct xbc_sink sink = {.fd = out.fd, .written = 0};
    int e = xbc_sink_write(&sink, data, len);
    if (e) {
        error("writing the wrapped-key file %s: %s", path, strerror(e));
        xbc_output_abort(&out);
        info("nothing was written to %s", path);
        return -1;
    }
    /* No signal between the file's appearance and its registration. */
    sigset_t fatal, old;
    sigemptyset(&fatal);
    sigaddset(&fatal, SIGINT);
    sigaddset(&fatal, SIGTERM);
    sigaddset(&fatal, SIGHUP);
    sigprocmask(SIG_BLOCK, &fatal, &old);
    int rc = xbc_output_commit(&out, err, sizeof err);
    if (rc == 0 && track) {
        sig_created = path;
        sig_created_active = 1;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        error("the wrapped-key file: %s", err);
        info("nothing was written to %s", path);
        return -1;
    }
    return 0;
}

/* The key of a decrypting run, from the wrapped-key file. */
static xbcrypt_key *unwrap_file(const char *path, xbcrypt_algo algo)
{
    size_t len = 0;
    void *wrapped = read_wrapped(path, &len);
    if (!wrapped)
        return NULL;
    char msg[512];
    xbcrypt_key *key = NULL;
    xbcrypt_status st = xb_envelope_unwrap(wrapped, len, &key, msg, sizeof msg);
    free(wrapped);
    if (st != XBCRYPT_OK) {
        error("%s: %s", path, msg[0] ? msg : xb_status_name(st));
        if (st == XBCRYPT_E_KEY && strstr(msg, "no secret key for any"))
            hint("run this where the private key of a recipient is (gpg --list-secret-keys), or "
                 "plug in its smartcard; GNUPGHOME selects the keyring");
        if (st == XBCRYPT_E_KEY && strstr(msg, "no gpg-agent answers"))
            hint("start it with: gpgconf --launch gpg-agent (no-autostart or agent-program in "
                 "gpg.conf, or a GNUPGHOME it cannot write, keeps gpg from starting it)");
        return NULL;
    }
    st = xb_key_check(key, algo, msg, sizeof msg);
    if (st != XBCRYPT_OK) {
        error("%s: %s", path, msg[0] ? msg : xb_status_name(st));
        xb_key_free(key);
        return NULL;
    }
    return key;
}

xbcrypt_key *xbc_envelope_key(const struct xbc_options *o, struct xbc_envelope *env)
{
    env->created = NULL;
    const char *path = o->wrapped_key_file;
    if (o->decrypt)
        return unwrap_file(path, o->algo);

    if (check_absent(path) != 0)
        return NULL;
    char msg[512];
    void *wrapped = NULL;
    size_t len = 0;
    xbcrypt_key *key = NULL;
    xbcrypt_status st = xb_envelope_wrap(o->recipients, o->n_recipients, &wrapped, &len, &key,
                                         msg, sizeof msg);
    if (st != XBCRYPT_OK) {
        error("%s", msg[0] ? msg : xb_status_name(st));
        if (st == XBCRYPT_E_KEY && strstr(msg, "no such public key"))
            hint("import the recipient's public key on this host first: gpg --import KEY.asc "
                 "(the private key need not, and should not, be here)");
        info("nothing was written to %s", path);
        return NULL;
    }
    int created = create_wrapped(path, wrapped, len, true);
    xb_envelope_free(wrapped);
    if (created != 0) {
        xb_key_free(key);
        return NULL;
    }
    st = xb_key_check(key, o->algo, msg, sizeof msg);
    if (st != XBCRYPT_OK) { /* cannot happen: 32 bytes fit every AES */
        error("%s", msg[0] ? msg : xb_status_name(st));
        sig_created_active = 0;
        unlink(path);
        xb_key_free(key);
        return NULL;
    }
    env->created = path;
    if (o->verbose)
        info("data key wrapped to %u recipient%s in %s", o->n_recipients,
             o->n_recipients == 1 ? "" : "s", path);
    return key;
}

void xbc_envelope_end(struct xbc_envelope *env, bool keep)
{
    sig_created_active = 0;
    if (env->created && !keep && unlink(env->created) == 0)
        info("removed the wrapped-key file %s: no backup uses it", env->created);
    env->created = NULL;
}

xbcrypt_key *xbc_envelope_or_key_file(const struct xbc_options *o)
{
    if (o->wrapped_key_file)
        return unwrap_file(o->wrapped_key_file, o->algo);
    return xbc_load_key(o->key_file, o->algo);
}

int xbc_run_rewrap(const struct xbc_options *o)
{
    if (xbc_engine_start(true) != 0)
        return 1;
    const char *old_path = o->wrapped_key_file, *new_path = o->new_wrapped_key_file;
    if (check_absent(new_path) != 0)
        return 1;
    size_t len = 0;
    void *old = read_wrapped(old_path, &len);
    if (!old)
        return 1;
    char msg[512];
    void *wrapped = NULL;
    size_t wrapped_len = 0;
    xbcrypt_status st = xb_envelope_rewrap(old, len, o->recipients, o->n_recipients, &wrapped,
                                           &wrapped_len, msg, sizeof msg);
    free(old);
    if (st != XBCRYPT_OK) {
        /* A failure to decrypt is about OLD; a recipient's is not. */
        if (st == XBCRYPT_E_KEY && !strstr(msg, "recipient "))
            error("%s: %s", old_path, msg[0] ? msg : xb_status_name(st));
        else
            error("%s", msg[0] ? msg : xb_status_name(st));
        info("nothing was written to %s", new_path);
        return 1;
    }
    int rc = create_wrapped(new_path, wrapped, wrapped_len, false) == 0 ? 0 : 1;
    xb_envelope_free(wrapped);
    if (rc == 0 && o->verbose)
        info("the data key of %s is now wrapped to %u recipient%s in %s; the backup itself is "
             "unchanged",
             old_path, o->n_recipients, o->n_recipients == 1 ? "" : "s", new_path);
    return rc;
}
