/*
 * xbc_output.h - an output that never lies.
 *
 * With -o PATH the result appears at PATH only when it is complete:
 *  - an existing regular file or symlink at PATH is refused ("File exists"),
 *    as Percona's O_EXCL|O_NOFOLLOW does;
 *  - a character device (/dev/null) is written directly, and so is a FIFO
 *    that belongs to the user running xbcrypt: there is nothing to replace
 *    and no way to take bytes back.  Another user's FIFO is refused (its
 *    reader would get the output), without waiting in open() for it;
 *  - a new file is written as an unnamed file in PATH's directory
 *    (O_TMPFILE), synced, and linked in as PATH on success, never over
 *    whatever appeared at PATH meanwhile; killed by any signal, even
 *    SIGKILL, the process leaves nothing.  Where the file system has no
 *    O_TMPFILE, a named temporary ".NAME.XXXXXX" beside PATH is renamed
 *    into place instead (RENAME_NOREPLACE), and removed on failure and on
 *    SIGINT, SIGTERM and SIGHUP.
 * Without -o the output is standard output.
 */
#ifndef XBC_OUTPUT_H
#define XBC_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct xbc_output {
    int fd;           /* where to write; -1 when closed */
    const char *path; /* the target; NULL for standard output */
    char *tmp_path;   /* the named temporary being written (malloc'd), or NULL */
    bool direct;      /* writing a device, a FIFO or stdout directly */
    bool unnamed;     /* fd is an O_TMPFILE file, linked in by commit */
};

/*
 * Checks that PATH may be written, before any work is done.  Returns 0, or
 * -1 with a message (no prefix) in err and, when there is something to
 * suggest, a static hint in *hint (else NULL).
 */
int xbc_output_check(const char *path, char *err, size_t errlen, const char **hint);

/*
 * Opens the output: stdout when path is NULL, else as described above.  A
 * temporary file gets `mode` (masked by the umask for anything wider than
 * 0600).  Returns 0, or -1 with a message in err.
 */
int xbc_output_open(struct xbc_output *o, const char *path, mode_t mode, char *err, size_t errlen);

/*
 * Opens a new file at PATH the same way, for files that must not exist yet
 * whatever they are (the wrapped-key file): anything at PATH, a device or a
 * FIFO too, is refused.  Returns 0, or -1 with a message in err and errno
 * EEXIST when PATH exists (else 0).
 */
int xbc_output_create(struct xbc_output *o, const char *path, mode_t mode, char *err,
                      size_t errlen);

/*
 * Finishes a successful run: syncs and renames the temporary into place, or
 * closes the device.  Returns 0, or -1 with a message in err; on failure
 * the temporary is removed.
 */
int xbc_output_commit(struct xbc_output *o, char *err, size_t errlen);

/* Gives up: closes, and removes the temporary file if there is one. */
void xbc_output_abort(struct xbc_output *o);

/* fsync of the directory holding path, so that a new name there lasts too
 * (best effort: some file systems refuse it). */
void xbc_output_sync_dir(const char *path);

/*
 * Removes the temporary file of the current output, if any; safe to call
 * from a signal handler (it only calls unlink()).
 */
void xbc_output_unlink_from_signal(void);

#endif /* XBC_OUTPUT_H */
