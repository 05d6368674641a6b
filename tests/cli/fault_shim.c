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
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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
