/*
 * xbs_manifest.h - the tree every archive of fixtures/xbstream/ holds, from
 * fixtures/xbstream/manifest.json: each member's path, size and SHA-256.
 * Shared by the unit tests and the dlopen tests (header only: no engine).
 */
#ifndef XBS_MANIFEST_H
#define XBS_MANIFEST_H

#include <stddef.h>

static const struct xbs_manifest_member {
    const char *path;
    size_t bytes;
    const char *sha256;
} xbs_tree[] = {
    {"backup-my.cnf", 110, "c6ce53d08566cd52cde7dbd4a7d626ec91d4145e6df2085498b9f07dee59b305"},
    {"xtrabackup_checkpoints", 99,
     "be4fbbefc7573842598ae8ea4eca814aaef0aa4ad3c5fa120e03c7f385769c8a"},
    {"ibdata1", 10498105, "e24fc9a43dcbe0683a25399b97c6b590a0374b3b2b327ed10ae42691a5a9c0e4"},
    {"db1/t1.ibd", 200000, "ff41b7e9cc397e9de1484b9ba8bd73b47c1bdfbc363d738bde401789cca5ef56"},
    {"db1/t2.ibd", 65537, "26560919174e3fb86e07d5dca742dca66b5e6f143342cb7122d19a5402237421"},
    {"db1/empty.ibd", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"mysql/user.ibd", 1023, "b6c637eb662e1bdbae474982d2dd4151ec7c0aeb48db21fa93899e5d24779a22"},
    {"xtrabackup_logfile", 40000,
     "f12e803c549b1a373e40e7f0ee13bbaabe6bc87929b43f58c81e3e71b433ddfa"},
};
#define XBS_NTREE (sizeof xbs_tree / sizeof xbs_tree[0])

#endif /* XBS_MANIFEST_H */
