/* Every bmnet C function, success and error paths, NULLs, invalid UTF-8 and concurrent
 * calls. Run by tests/c_abi.rs under valgrind memcheck: no error and no leak allowed.
 * Prints one line per check; exits non-zero on the first failure. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmnet.h"

static int checks = 0;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        checks++;                                                         \
        if (!(cond)) {                                                    \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
            exit(1);                                                      \
        }                                                                 \
    } while (0)

typedef int (*bm_fn)(const char *, char **, char **);

/* Calls f, checks the status and that exactly the expected out-parameter is set and holds
 * every needle; frees both. */
static void expect(bm_fn f, const char *name, const char *in, int status, const char *needles[]) {
    char *out = (char *)1, *err = (char *)1;
    int rc = f(in, &out, &err);
    const char *text = rc == BM_OK ? out : err;
    CHECK(rc == status, "%s(%s) returned %d, not %d: out=%s err=%s", name, in ? in : "NULL", rc, status,
          out ? out : "NULL", err ? err : "NULL");
    CHECK(rc == BM_OK ? (out != NULL && err == NULL) : (out == NULL && err != NULL), "%s: out/err not as documented",
          name);
    for (int i = 0; needles && needles[i]; i++) {
        CHECK(strstr(text, needles[i]) != NULL, "%s(%s): %s lacks %s", name, in ? in : "NULL", text, needles[i]);
    }
    printf("ok %s(%.60s) -> %d\n", name, in ? in : "NULL", rc);
    bm_string_free(out);
    bm_string_free(err);
}

#define NEEDLES(...) ((const char *[]){__VA_ARGS__, NULL})

static const char *SNAPSHOT =
    "{\"snapshot\": {"
    "\"links\": [{\"index\": 2, \"name\": \"eth0\", \"up\": true}, {\"index\": 3, \"name\": \"eth1\", \"up\": true}],"
    "\"addresses\": [{\"link\": 2, \"addr\": \"10.0.2.15/24\"}, {\"link\": 3, \"addr\": \"192.168.111.20/24\"},"
    "                {\"link\": 3, \"addr\": \"192.168.111.5/24\"}, {\"link\": 3, \"addr\": \"fd2e::20/64\"}],"
    "\"routes\": [{\"family\": \"ipv4\", \"destination\": \"0.0.0.0/0\", \"gateway\": \"10.0.2.2\", \"link\": 2}]},"
    " \"vips\": [\"192.168.111.5\"]}";

static void *classify_many(void *arg) {
    (void)arg;
    for (int i = 0; i < 200; i++) {
        char *out = NULL, *err = NULL;
        const char *in = (i % 2) ? "::ffff:10.0.0.1" : "300.1.1.1";
        int rc = bm_addr_classify(in, &out, &err);
        if (rc != ((i % 2) ? BM_OK : BM_REJECTED)) {
            fprintf(stderr, "FAIL thread: %s -> %d\n", in, rc);
            exit(1);
        }
        bm_string_free(out);
        bm_string_free(err);
    }
    return NULL;
}

int main(void) {
    /* Version. */
    CHECK(BM_ABI_VERSION == 1, "ABI %d", BM_ABI_VERSION);
    CHECK(strcmp(bm_version(), "0.1.0") == 0, "version %s", bm_version());

    /* bm_addr_classify. */
    expect(bm_addr_classify, "bm_addr_classify", "::ffff:192.168.0.14", BM_OK,
           NEEDLES("\"family\":\"ipv4\"", "\"kind\":\"ipv4_mapped\"", "\"bind_address\":\"192.168.0.14\"",
                   "\"registry\":\"Private-Use\""));
    expect(bm_addr_classify, "bm_addr_classify", "fe80::1%eth0", BM_OK, NEEDLES("\"zone\":\"eth0\"", "\"scope\":\"link\""));
    expect(bm_addr_classify, "bm_addr_classify", "010.1.1.1", BM_REJECTED,
           NEEDLES("\"kind\":\"invalid_address\"", "\"offset\":0", "leading zero"));
    expect(bm_addr_classify, "bm_addr_classify", "{\"addr\": \"010.1.1.1\", \"sloppy\": true}", BM_OK,
           NEEDLES("\"canonical\":\"10.1.1.1\"", "\"warning\":"));
    expect(bm_addr_classify, "bm_addr_classify", "{\"addr\": 5}", BM_REJECTED,
           NEEDLES("\"kind\":\"invalid_request\"", "\"path\":\"addr\"", "\"line\":1"));
    expect(bm_addr_classify, "bm_addr_classify", "{\"addr\": \"1.2.3.4\"", BM_REJECTED, NEEDLES("\"kind\":\"invalid_json\""));
    expect(bm_addr_classify, "bm_addr_classify", NULL, BM_REJECTED, NEEDLES("\"kind\":\"null_argument\""));
    expect(bm_addr_classify, "bm_addr_classify", "10.0.0.\xff", BM_REJECTED,
           NEEDLES("\"kind\":\"invalid_utf8\"", "\"offset\":7"));
    expect(bm_addr_classify, "bm_addr_classify", "", BM_REJECTED, NEEDLES("\"kind\":\"invalid_address\""));

    /* NULL out-parameters: status 1, nothing written. */
    char *only = NULL;
    CHECK(bm_addr_classify("10.0.0.1", NULL, &only) == BM_REJECTED && only == NULL, "NULL out_json");
    CHECK(bm_addr_classify("10.0.0.1", &only, NULL) == BM_REJECTED && only == NULL, "NULL err_json");
    CHECK(bm_nodeip_select("{}", NULL, NULL) == BM_REJECTED, "NULL both");
    bm_string_free(NULL);

    /* bm_nodeip_select on a snapshot: the VIP's subnet, the VIP itself rejected. */
    expect(bm_nodeip_select, "bm_nodeip_select", SNAPSHOT, BM_OK,
           NEEDLES("\"chosen\":[{\"addr\":\"192.168.111.20/24\"", "\"method\":\"vip_subnet\"", "\"reason\":\"vip\"",
                   "fd2e::20/64"));
    /* This host (netlink): a result, whatever the host has. */
    expect(bm_nodeip_select, "bm_nodeip_select", "{}", BM_OK, NEEDLES("\"candidates\":"));
    expect(bm_nodeip_select, "bm_nodeip_select", "{\"hints\": [\"fe80::1\"]}", BM_REJECTED,
           NEEDLES("\"kind\":\"invalid_request\"", "\"path\":\"hints[0]\"", "never node IPs"));
    expect(bm_nodeip_select, "bm_nodeip_select", "{\"exclude\": [\"010.0.0.0/8\"]}", BM_REJECTED,
           NEEDLES("\"path\":\"exclude\"", "leading zero"));
    expect(bm_nodeip_select, "bm_nodeip_select", "{\"vips\": [\"10.0.0.5\"], \"policy\": {}}", BM_REJECTED,
           NEEDLES("\"path\":\"policy\""));
    expect(bm_nodeip_select, "bm_nodeip_select", "{\"snapshot\": {\"links\": 3}}", BM_REJECTED,
           NEEDLES("\"path\":\"snapshot.links\""));
    expect(bm_nodeip_select, "bm_nodeip_select", "{\n  \"vips\": [\n    \"10.0.0.5\",\n  ]\n}", BM_REJECTED,
           NEEDLES("\"kind\":\"invalid_json\"", "\"line\":4"));
    expect(bm_nodeip_select, "bm_nodeip_select", "{\"vipz\": []}", BM_REJECTED, NEEDLES("unknown field"));
    expect(bm_nodeip_select, "bm_nodeip_select", NULL, BM_REJECTED, NEEDLES("\"path\":\"request\""));

    /* bm_nodeip_check_arg: kubelet's own words per version. */
    expect(bm_nodeip_check_arg, "bm_nodeip_check_arg", "10.0.0.5,fd00::5", BM_OK,
           NEEDLES("\"primary_family\":\"ipv4\""));
    expect(bm_nodeip_check_arg, "bm_nodeip_check_arg", "fe80::1", BM_REJECTED,
           NEEDLES("\"kind\":\"rejected_by_kubelet\"", "nodeIP can't be a link-local unicast address"));
    expect(bm_nodeip_check_arg, "bm_nodeip_check_arg",
           "{\"value\": \"10.0.0.5,fd00::5\", \"cloud_provider\": \"external\", \"kubelet_version\": \"1.26\"}",
           BM_REJECTED, NEEDLES("\"errors\":[", "\"rejection\":"));
    expect(bm_nodeip_check_arg, "bm_nodeip_check_arg", "{\"value\": \"10.0.0.5\", \"kubelet_version\": \"one\"}",
           BM_REJECTED, NEEDLES("\"path\":\"kubelet_version\""));
    expect(bm_nodeip_check_arg, "bm_nodeip_check_arg",
           "{\"value\": \"10.9.9.9\", \"on_host\": true, \"snapshot\": {\"links\": [], \"addresses\": []}}",
           BM_REJECTED, NEEDLES("10.9.9.9"));
    expect(bm_nodeip_check_arg, "bm_nodeip_check_arg", NULL, BM_REJECTED, NEEDLES("\"kind\":\"null_argument\""));

    /* Concurrent calls. */
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&threads[i], NULL, classify_many, NULL) == 0, "pthread_create");
    for (int i = 0; i < 4; i++) CHECK(pthread_join(threads[i], NULL) == 0, "pthread_join");
    printf("ok 4 threads x 200 calls\n");

    printf("all %d checks passed\n", checks);
    return 0;
}
