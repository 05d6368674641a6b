/*
 * fault_shim.c - an LD_PRELOAD library for the CLI fault tests: makes
 * read() and write() behave as slow, interrupted or failing I/O does, on
 * every descriptor but stderr (whose stdio buffering is not under test).
 *
 * XB_FAULT_EINTR=K    every K-th call fails with EINTR before doing anything
 * XB_FAULT_SHORT=N    every transfer moves at most N bytes (short reads and
 *                     writes)
 * XB_FAULT_WRITE_ERR=C:E   the C-th write() (counted from 1) and every later
 *                     one fail with errno E (e.g. 28 = ENOSPC)
 * XB_FAULT_READ_ERR=C:E    the same for read()
 * XB_FAULT_NO_TMPFILE=1    open() with O_TMPFILE fails with EOPNOTSUPP, as on
 *                     a file system without it (the named-temporary fallback)
 * XB_FAULT_FIFO_MINE=1     lstat() reports every FIFO as the caller's own, as
 *                     if another user's FIFO were swapped in between a path
 *                     check and the open (only fstat() of the fd tells)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* open() and open64() are defined apart below: no redirection of one to the
 * other by the 64-bit file offset headers. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef ssize_t (*io_fn)(int, void *, size_t);

static unsigned long env_num(const char *name, unsigned long dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoul(v, NULL, 10) : dflt;
}

/* "C:E" -> count, errno; 0 when unset. */
static unsigned long env_fault(const char *name, int *err)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    unsigned long count = strtoul(v, &end, 10);
    *err = *end == ':' ? atoi(end + 1) : EIO;
    return count;
}

static ssize_t shim(int fd, void *buf, size_t len, const char *sym, const char *err_env,
                    unsigned long *calls)
{
    static __thread int busy;
    io_fn real;
    void *p = dlsym(RTLD_NEXT, sym);
    memcpy(&real, &p, sizeof real);
    if (fd == STDERR_FILENO || busy)
        return real(fd, buf, len);
    busy = 1;
    unsigned long n = __atomic_add_fetch(calls, 1, __ATOMIC_RELAXED);
    unsigned long eintr = env_num("XB_FAULT_EINTR", 0);
    unsigned long cap = env_num("XB_FAULT_SHORT", 0);
    int fault_errno = 0;
    unsigned long fault_at = env_fault(err_env, &fault_errno);
    busy = 0;
    if (fault_at && n >= fault_at) {
        errno = fault_errno;
        return -1;
    }
    if (eintr && n % eintr == 0) {
        errno = EINTR;
        return -1;
    }
    if (cap && len > cap)
        len = cap;
    return real(fd, buf, len);
}

ssize_t read(int fd, void *buf, size_t len)
{
    static unsigned long calls;
    return shim(fd, buf, len, "read", "XB_FAULT_READ_ERR", &calls);
}

ssize_t write(int fd, const void *buf, size_t len)
{
    static unsigned long calls;
    return shim(fd, (void *)(uintptr_t)buf, len, "write", "XB_FAULT_WRITE_ERR", &calls);
}

typedef int (*open_fn)(const char *, int, ...);

static int open_shim(const char *sym, const char *path, int flags, va_list ap)
{
    mode_t mode = 0;
#ifdef O_TMPFILE
    bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
#else
    bool tmpfile = false;
#endif
    if ((flags & O_CREAT) || tmpfile)
        mode = (mode_t)va_arg(ap, int);
    if (tmpfile && env_num("XB_FAULT_NO_TMPFILE", 0)) {
        errno = EOPNOTSUPP;
        return -1;
    }
    open_fn real;
    void *p = dlsym(RTLD_NEXT, sym);
    memcpy(&real, &p, sizeof real);
    return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = open_shim("open", path, flags, ap);
    va_end(ap);
    return fd;
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = open_shim("open64", path, flags, ap);
    va_end(ap);
    return fd;
}

int lstat64(const char *path, struct stat64 *st)
{
    int (*real)(const char *, struct stat64 *);
    void *p = dlsym(RTLD_NEXT, "lstat64");
    memcpy(&real, &p, sizeof real);
    int rc = real(path, st);
    if (rc == 0 && S_ISFIFO(st->st_mode) && env_num("XB_FAULT_FIFO_MINE", 0))
        st->st_uid = geteuid();
    return rc;
}
