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

int xbc_output_check(const char *path, char *err, size_t errlen, const char **hint)
{
    *hint = NULL;
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(EEXIST));
            *hint = hint_exists;
            return -1;
        }
        if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
            return 0;
        snprintf(err, errlen, "cannot write %s: %s", path,
                 S_ISDIR(st.st_mode) ? "it is a directory"
                                     : "it is not a file, a character device or a FIFO");
        return -1;
    }
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

static int open_direct(struct xbc_output *o, const char *path, char *err, size_t errlen)
{
    int fd;
    do
        fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 errno == ELOOP ? strerror(EEXIST) : strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
        /* Replaced by a file between the check and the open. */
        close(fd);
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(EEXIST));
        return -1;
    }
    o->fd = fd;
    o->direct = true;
    return 0;
}

int xbc_output_open(struct xbc_output *o, const char *path, mode_t mode, char *err, size_t errlen)
{
    o->fd = -1;
    o->path = path;
    o->tmp_path = NULL;
    o->direct = false;
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

    char dir[PATH_MAX];
    const char *base = split(path, dir, sizeof dir);
    int n = snprintf(sig_tmp_path, sizeof sig_tmp_path, "%s/.%.*s.XXXXXX", dir, TMP_BASE_MAX,
                     base);
    if (n < 0 || (size_t)n >= sizeof sig_tmp_path) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(ENAMETOOLONG));
        return -1;
    }
    char *tmp = strdup(sig_tmp_path);
    if (!tmp) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(ENOMEM));
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

    mode &= 0666;
    if (mode != 0600) {
        mode_t mask = umask(077);
        umask(mask);
        if (fchmod(fd, mode & ~mask) != 0) {
            snprintf(err, errlen, "cannot set the mode of %s: %s", tmp, strerror(errno));
            xbc_output_abort(o);
            return -1;
        }
    }
    return 0;
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

int xbc_output_commit(struct xbc_output *o, char *err, size_t errlen)
{
    if (!o->tmp_path) {
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
    int fd = o->fd;
    o->fd = -1;
    if (close(fd) != 0) {
        snprintf(err, errlen, "writing %s: %s", o->path, strerror(errno));
        xbc_output_abort(o);
        return -1;
    }
    int e = rename_noreplace(o->tmp_path, o->path);
    if (e != 0) {
        if (e == EEXIST)
            snprintf(err, errlen,
                     "%s appeared while xbcrypt was writing; it was left alone and the output "
                     "discarded",
                     o->path);
        else
            snprintf(err, errlen, "cannot move the output into place at %s: %s", o->path,
                     strerror(e));
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
    if (o->tmp_path) {
        sig_tmp_active = 0;
        unlink(o->tmp_path);
        free(o->tmp_path);
        o->tmp_path = NULL;
    }
}
