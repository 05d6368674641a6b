/*
 * test_abi_threads.c - 8 host threads at once, each with its own encoder
 * and decoder (themselves running engine workers), some on their own key
 * and some sharing one key read-only, as the header allows.  Every thread
 * also calls init() on its own, concurrently.
 *
 * The point is to be run under ThreadSanitizer too:
 *   meson setup build-plugin-tsan -Db_sanitize=thread -Db_lundef=false
 *   meson test -C build-plugin-tsan --suite abi abi-threads
 * (CK_FORK=no keeps the whole test in one process for TSan's reports.)
 */
#include "abi_common.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define N_THREADS 8
#define ROUNDS 3
#define DATA_LEN (300000u)

typedef struct job {
    const xbcrypt_api *api;
    const xbcrypt_key *shared_key;
    unsigned id;
    xbcrypt_status status; /* written by the thread, read after join */
    char where[256];
} job;

static xbcrypt_status run_round(job *j, const xbcrypt_key *key, const uint8_t *data,
                                unsigned round)
{
    const xbcrypt_api *api = j->api;
    xbcrypt_settings s;
    api->settings_default(&s);
    s.key = key;
    s.algo = (xbcrypt_algo)(XBCRYPT_ALGO_AES128 + (j->id + round) % 3);
    s.chunk_size = 1024u << ((j->id + round) % 5);
    s.read_buffer_size = 50000u * (1 + j->id % 3);
    s.threads = (j->id + round) % 4; /* 0 .. 3 workers */
    abi_buf enc = {0}, dec = {0};
    char msg[256];
    size_t split = 1000u + 997u * j->id;
    xbcrypt_status st = abi_encode(api, &s, data, DATA_LEN, split, &enc, NULL, msg, sizeof msg);
    if (st == XBCRYPT_OK) {
        s.threads = (j->id + round + 2) % 4;
        st = abi_decode(api, &s, enc.data, enc.len, split * 3, &dec, NULL, msg, sizeof msg);
    }
    if (st != XBCRYPT_OK)
        memcpy(j->where, msg, sizeof msg);
    else if (dec.len != DATA_LEN || memcmp(dec.data, data, DATA_LEN) != 0) {
        st = XBCRYPT_E_HASH;
        strcpy(j->where, "round trip gave different bytes");
    }
    abi_buf_free(&enc);
    abi_buf_free(&dec);
    return st;
}

static void *thread_main(void *arg)
{
    job *j = arg;
    const xbcrypt_api *api = j->api;
    j->status = api->init();
    if (j->status != XBCRYPT_OK)
        return NULL;
    uint8_t keybytes[32];
    for (unsigned i = 0; i < 32; i++)
        keybytes[i] = (uint8_t)(j->id * 31u + i);
    xbcrypt_key *own = NULL;
    char msg[256];
    j->status = api->key_from_bytes(keybytes, 16u + 8u * (j->id % 3), &own, msg, sizeof msg);
    if (j->status != XBCRYPT_OK)
        return NULL;
    uint8_t *data = malloc(DATA_LEN);
    if (!data) {
        j->status = XBCRYPT_E_NOMEM;
        api->key_free(own);
        return NULL;
    }
    for (unsigned i = 0; i < DATA_LEN; i++)
        data[i] = (uint8_t)(i * (j->id + 3u) + (i >> 9));
    for (unsigned round = 0; round < ROUNDS && j->status == XBCRYPT_OK; round++)
        j->status = run_round(j, (round + j->id) % 2 ? own : j->shared_key, data, round);
    free(data);
    api->key_free(own);
    return NULL;
}

START_TEST(test_eight_threads)
{
    abi_plugin p;
    abi_load(&p);
    xbcrypt_key *shared = NULL;
    char msg[256];
    ck_assert_int_eq(p.api->key_from_bytes("0123456789abcdef0123456789abcdef", 32, &shared, msg,
                                           sizeof msg),
                     XBCRYPT_OK);
    job jobs[N_THREADS];
    pthread_t tids[N_THREADS];
    for (unsigned i = 0; i < N_THREADS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].api = p.api;
        jobs[i].shared_key = shared;
        jobs[i].id = i;
        ck_assert_int_eq(pthread_create(&tids[i], NULL, thread_main, &jobs[i]), 0);
    }
    for (unsigned i = 0; i < N_THREADS; i++)
        ck_assert_int_eq(pthread_join(tids[i], NULL), 0);
    for (unsigned i = 0; i < N_THREADS; i++)
        ck_assert_msg(jobs[i].status == XBCRYPT_OK, "thread %u: %s: %s", i,
                      p.api->status_name(jobs[i].status), jobs[i].where);
    p.api->key_free(shared);
    abi_unload(&p);
}
END_TEST

int main(void)
{
    return abi_run_suite(abi_suite_of_one("abi-threads", "threads", 300, test_eight_threads), CK_FORK_GETENV);
}
