/* xbc_output.c - an output that never lies; see xbc_output.h. */
#include "xbc_output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The temporary file being written, for the signal handler of main.c: it
 * may only read these two. */
static char sig_tmp_path[PATH_MAX];
static volatile sig_atomic_t sig_tmp_active;

/* Longest part of the target's name copied into the temporary's name:
 * leaves room for ".", ".XXXXXX" within NAME_MAX (255). */
#define TMP_BASE_MAX 200

static const char hint_exists[] =
    "xbcrypt never replaces an existing file (nor follows a symlink); remove it or choose "
    "another --output";

void xbc_output_unlink_from_signal(void)
{
    if (sig_tmp_active)
        unlink(sig_tmp_path);
}

/* Splits path into its directory (".", "/" or the part before the last
 * '/') and returns a pointer to the last component. */
static const char *split(const char *path, char *dir, size_t dirlen)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dirlen, ".");
        return path;
    }
    if (slash == path)
        snprintf(dir, dirlen, "/");
    else
        snprintf(dir, dirlen, "%.*s", (int)(slash - path), path);
    return slash + 1;
}

static const char hint_fifo[] =
    "a named pipe at --output must belong to the user running xbcrypt (as fs.protected_fifos "
    "requires): another user's pipe would hand the output to its reader; remove it or choose "
    "another --output";

/* What may be written directly, judged on st (of the path, or of the fd
 * once opened): a character device, or a FIFO of our own.  0, or -1 with a
 * message. */
static int check_existing(const char *path, const struct stat *st, char *err, size_t errlen,
                          const char **hint)
{
    if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode)) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(EEXIST));
        *hint = hint_exists;
        return -1;
    }
    if (S_ISCHR(st->st_mode))
        return 0;
    if (S_ISFIFO(st->st_mode)) {
        if (st->st_uid == geteuid())
            return 0;
        snprintf(err, errlen, "cannot write %s: it is a named pipe that belongs to another user "
                 "(uid %lu), and its reader would receive the output",
                 path, (unsigned long)st->st_uid);
        *hint = hint_fifo;
        return -1;
    }
    snprintf(err, errlen, "cannot write %s: %s", path,
             S_ISDIR(st->st_mode) ? "it is a directory"
                                  : "it is not a file, a character device or a FIFO");
    return -1;
}

int xbc_output_check(const char *path, char *err, size_t errlen, const char **hint)
{
    *hint = NULL;
    struct stat st;
    if (lstat(path, &st) == 0)
        return check_existing(path, &st, err, errlen, hint);
    if (errno != ENOENT) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    char dir[PATH_MAX];
    const char *base = split(path, dir, sizeof dir);
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        snprintf(err, errlen, "cannot write %s: it names a directory", path);
        return -1;
    }
    if (strlen(path) >= sizeof sig_tmp_path - 16) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(ENAMETOOLONG));
        return -1;
    }
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "cannot write %s: directory %s: %s", path, dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cannot write %s: %s is not a directory", path, dir);
        return -1;
    }
    return 0;
}

/*
 * Opens an existing device or FIFO at path for writing.  The open never
 * waits (O_NONBLOCK), and what it opened is judged by fstat() of the fd, so
 * a FIFO swapped in after xbc_output_check() is caught too.  A FIFO with no
 * reader yet (ENXIO) is waited for, by polling, only when it is our own:
 * another user's is refused without ever being opened.
 */
static int open_direct(struct xbc_output *o, const char *path, char *err, size_t errlen)
{
    const char *hint;
    struct stat st;
    for (;;) {
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            if (fstat(fd, &st) != 0) {
                snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
                close(fd);
                return -1;
            }
            if (check_existing(path, &st, err, errlen, &hint) != 0) {
                close(fd); /* a foreign FIFO's reader gets end-of-file, nothing else */
                return -1;
            }
            int fl = fcntl(fd, F_GETFL);
            if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
                snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
                close(fd);
                return -1;
            }
            o->fd = fd;
            o->direct = true;
            return 0;
        }
        int e = errno;
        if (e == EINTR)
            continue;
        if (e == ENXIO && lstat(path, &st) == 0 && S_ISFIFO(st.st_mode)) {
            if (check_existing(path, &st, err, errlen, &hint) != 0)
                return -1;
            /* Our own FIFO, no reader yet: wait for one, as a blocking
             * open() would. */
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        snprintf(err, errlen, "cannot open %s: %s", path,
                 e == ELOOP ? strerror(EEXIST) : strerror(e));
        return -1;
    }
}

/* An unnamed file in dir (O_TMPFILE): it vanishes with the process, however
 * that dies, until xbc_output_commit() links it in.  -1 where the file
 * system or kernel has none, or where /proc (needed to link it without a
 * capability) is missing: then the caller falls back to a named one. */
static int open_unnamed(const char *dir)
{
#ifdef O_TMPFILE
    int fd;
    do
        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -1;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (access(proc, F_OK) != 0) {
        close(fd);
        return -1;
    }
    return fd;
#else
    (void)dir;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

/* A named temporary ".BASE.XXXXXX" in dir, for file systems without
 * O_TMPFILE; registered for the signal handler.  -1 with a message. */
static int open_named(struct xbc_output *o, const char *dir, const char *base, char *err,
                      size_t errlen)
{
    int n = snprintf(sig_tmp_path, sizeof sig_tmp_path, "%s/.%.*s.XXXXXX", dir, TMP_BASE_MAX,
                     base);
    if (n < 0 || (size_t)n >= sizeof sig_tmp_path) {
        snprintf(err, errlen, "cannot write %s: %s", o->path, strerror(ENAMETOOLONG));
        return -1;
    }
    char *tmp = strdup(sig_tmp_path);
    if (!tmp) {
        snprintf(err, errlen, "cannot write %s: %s", o->path, strerror(ENOMEM));
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a temporary file in %s: %s", dir, strerror(errno));
        free(tmp);
        return -1;
    }
    memcpy(sig_tmp_path, tmp, strlen(tmp) + 1);
    sig_tmp_active = 1;
    o->fd = fd;
    o->tmp_path = tmp;
    return 0;
}

/* The temporary for a new file at path (which does not exist): unnamed
 * where possible, else named; then the mode. */
static int open_temporary(struct xbc_output *o, const char *path, mode_t mode, char *err,
                          size_t errlen)
{
    char dir[PATH_MAX];
    const char *base = split(path, dir, sizeof dir);
    int fd = open_unnamed(dir);
    if (fd >= 0) {
        o->fd = fd;
        o->unnamed = true;
    } else if (open_named(o, dir, base, err, errlen) != 0) {
        return -1;
    }

    mode &= 0666;
    if (mode != 0600) {
        mode_t mask = umask(077);
        umask(mask);
        if (fchmod(o->fd, mode & ~mask) != 0) {
            snprintf(err, errlen, "cannot set the mode of %s: %s",
                     o->tmp_path ? o->tmp_path : "the temporary file", strerror(errno));
            xbc_output_abort(o);
            return -1;
        }
    }
    return 0;
}

static void output_init(struct xbc_output *o, const char *path)
{
    o->fd = -1;
    o->path = path;
    o->tmp_path = NULL;
    o->direct = false;
    o->unnamed = false;
}

int xbc_output_open(struct xbc_output *o, const char *path, mode_t mode, char *err, size_t errlen)
{
    output_init(o, path);
    if (!path) {
        o->fd = STDOUT_FILENO;
        o->direct = true;
        return 0;
    }

    const char *hint;
    if (xbc_output_check(path, err, errlen, &hint) != 0)
        return -1;
    struct stat st;
    if (lstat(path, &st) == 0)
        return open_direct(o, path, err, errlen);
    return open_temporary(o, path, mode, err, errlen);
}

int xbc_output_create(struct xbc_output *o, const char *path, mode_t mode, char *err,
                      size_t errlen)
{
    output_init(o, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(EEXIST));
        errno = EEXIST;
        return -1;
    }
    const char *hint;
    if (xbc_output_check(path, err, errlen, &hint) != 0) {
        errno = 0;
        return -1;
    }
    return open_temporary(o, path, mode, err, errlen);
}

/* Gives the unnamed file of fd the name path, unless something exists at
 * path.  0 or an errno value (EEXIST when path was taken meanwhile). */
static int link_unnamed(int fd, const char *path)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
}

/* Moves tmp to path unless something exists at path.  Returns 0 or an
 * errno value (EEXIST when path was taken meanwhile). */
static int rename_noreplace(const char *tmp, const char *path)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
    int e = errno;
    if (e != EINVAL && e != ENOSYS && e != EOPNOTSUPP)
        return e;
    /* No RENAME_NOREPLACE on this file system: link() fails on an existing
     * target just the same. */
    if (link(tmp, path) == 0) {
        unlink(tmp);
        return 0;
    }
    e = errno;
    if (e != EPERM && e != ENOSYS && e != EOPNOTSUPP)
        return e;
    /* No hard links either (vfat and the like): check, then rename.  A file
     * created at path in between would be replaced; no better exists here. */
    struct stat st;
    if (lstat(path, &st) == 0)
        return EEXIST;
    return rename(tmp, path) == 0 ? 0 : errno;
}

void xbc_output_sync_dir(const char *path)
{
    char dir[PATH_MAX];
    split(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: some file systems refuse it */
        close(fd);
    }
}

/* The message for a failed move into place. */
static void move_error(const char *path, int e, char *err, size_t errlen)
{
    if (e == EEXIST)
        snprintf(err, errlen,
                 "%s appeared while xbcrypt was writing; it was left alone and the output "
                 "discarded",
                 path);
    else
        snprintf(err, errlen, "cannot move the output into place at %s: %s", path, strerror(e));
}

int xbc_output_commit(struct xbc_output *o, char *err, size_t errlen)
{
    if (!o->tmp_path && !o->unnamed) {
        int rc = 0;
        if (o->fd > STDERR_FILENO && close(o->fd) != 0) {
            snprintf(err, errlen, "closing %s: %s", o->path, strerror(errno));
            rc = -1;
        }
        o->fd = -1;
        return rc;
    }
    if (fsync(o->fd) != 0) {
        snprintf(err, errlen, "writing %s: %s", o->path, strerror(errno));
        xbc_output_abort(o);
        return -1;
    }
    if (o->unnamed) {
        int e = link_unnamed(o->fd, o->path);
        if (e != 0) {
            move_error(o->path, e, err, errlen);
            xbc_output_abort(o);
            return -1;
        }
        int fd = o->fd;
        o->fd = -1;
        o->unnamed = false;
        if (close(fd) != 0) {
            /* Cannot happen after a good fsync on a local file system; if
             * it does, the file that was linked in is not to be trusted. */
            snprintf(err, errlen, "writing %s: %s", o->path, strerror(errno));
            unlink(o->path);
            return -1;
        }
        xbc_output_sync_dir(o->path);
        return 0;
    }
    int fd = o->fd;
    o->fd = -1;
    if (close(fd) != 0) {
        snprintf(err, errlen, "writing %s: %s", o->path, strerror(errno));
        xbc_output_abort(o);
        return -1;
    }
    int e = rename_noreplace(o->tmp_path, o->path);
    if (e != 0) {
        move_error(o->path, e, err, errlen);
        xbc_output_abort(o);
        return -1;
    }
    sig_tmp_active = 0;
    free(o->tmp_path);
    o->tmp_path = NULL;
    xbc_output_sync_dir(o->path);
    return 0;
}

void xbc_output_abort(struct xbc_output *o)
{
    if (o->fd > STDERR_FILENO)
        close(o->fd);
    o->fd = -1;
    o->unnamed = false; /* closing it was all it takes */
    if (o->tmp_path) {
        sig_tmp_active = 0;
        unlink(o->tmp_path);
        free(o->tmp_path);
        o->tmp_path = NULL;
    }
}
