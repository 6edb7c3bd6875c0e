/* Every bmnet C function, success and error paths, NULLs, invalid UTF-8 and concurrent
 * calls. Run by tests/c_abi.rs under valgrind memcheck: no error and no leak allowed.
 * Prints one line per check; exits non-zero on the first failure. */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
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

/* A wire-format query for NAME (dotted, no trailing dot) and TYPE, without EDNS. */
static size_t make_query(uint8_t *buf, const char *name, uint16_t type) {
    size_t n = 0;
    const uint8_t header[12] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(buf, header, 12);
    n = 12;
    const char *label = name;
    while (*label) {
        const char *dot = strchr(label, '.');
        size_t len = dot ? (size_t)(dot - label) : strlen(label);
        buf[n++] = (uint8_t)len;
        memcpy(buf + n, label, len);
        n += len;
        label += len + (dot ? 1 : 0);
    }
    buf[n++] = 0;
    buf[n++] = (uint8_t)(type >> 8);
    buf[n++] = (uint8_t)type;
    buf[n++] = 0;
    buf[n++] = 1;
    return n;
}

static const bm_dns_zone_t *shared_zone;

static void *answer_many(void *arg) {
    (void)arg;
    uint8_t q[512], out[512];
    size_t qlen = make_query(q, "a.b.apps.c.example.com", 1), out_len = 0;
    for (int i = 0; i < 500; i++) {
        int outcome = -1;
        if (bm_dns_zone_answer(shared_zone, q, qlen, 0, out, sizeof out, &out_len, &outcome) != BM_OK ||
            outcome != BM_DNS_ANSWERED || out[out_len - 1] != 4) {
            fprintf(stderr, "FAIL dns thread\n");
            exit(1);
        }
    }
    return NULL;
}

/* Decodes a hex string into bytes; returns the length. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap) {
    size_t n = 0;
    while (isxdigit((unsigned char)hex[0]) && isxdigit((unsigned char)hex[1]) && n < cap) {
        unsigned v = 0;
        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

/* Drains a router's actions; copies the last advert sent (bytes) and counts what it saw. */
static int drain(bm_vrrp_t *r, uint8_t *advert, size_t *advert_len, int *added, int *removed) {
    int n = 0;
    for (;;) {
        char *a = NULL;
        CHECK(bm_vrrp_poll_action(r, &a) == BM_OK, "poll_action");
        if (!a) return n;
        n++;
        const char *hex = strstr(a, "\"bytes_hex\":\"");
        if (hex && advert) *advert_len = unhex(hex + 13, advert, 512);
        if (strstr(a, "\"add_vips\"")) (*added)++;
        if (strstr(a, "\"remove_vips\"")) (*removed)++;
        bm_string_free(a);
    }
}

/* Drains a router's actions: counts those of `instance`, copies its last advert, counts its
 * transitions to `state` (e.g. "\"to\":\"fault\""). */
static int router_drain(bm_vrrp_router_t *r, int instance, uint8_t *advert, size_t *advert_len, const char *state,
                        int *seen_state) {
    int n = 0;
    char needle[32];
    snprintf(needle, sizeof needle, "\"instance\":%d", instance);
    for (;;) {
        char *a = NULL;
        CHECK(bm_vrrp_router_poll_action(r, &a) == BM_OK, "router_poll_action");
        if (!a) return n;
        if (strstr(a, needle)) {
            n++;
            const char *hex = strstr(a, "\"bytes_hex\":\"");
            if (hex && advert) *advert_len = unhex(hex + 13, advert, 512);
            if (state && seen_state && strstr(a, state)) (*seen_state)++;
        }
        bm_string_free(a);
    }
}

/* Carries out a BGP session's actions towards its peer in memory: a connect is the one TCP
 * connection between the two (both are told it is up), sent bytes are the peer's received
 * bytes. Counts the actions holding `needle` (if given) in *seen; returns how many ran. */
static int bgp_pump(bm_bgp_t *from, bm_bgp_t *to, uint64_t now, const char *needle, int *seen) {
    static uint8_t bytes[4096];
    int n = 0;
    for (;;) {
        char *a = NULL;
        CHECK(bm_bgp_poll_action(from, &a) == BM_OK, "bm_bgp_poll_action");
        if (!a) return n;
        n++;
        if (strstr(a, "\"action\":\"connect\"")) {
            CHECK(bm_bgp_tcp_connected(from, now) == BM_OK && bm_bgp_tcp_connected(to, now) == BM_OK, "connected");
        }
        const char *hex = strstr(a, "\"bytes_hex\":\"");
        if (hex) {
            size_t len = unhex(hex + 13, bytes, sizeof bytes);
            CHECK(len >= 19 && bm_bgp_handle_bytes(to, now, bytes, len) == BM_OK, "handle_bytes %zu", len);
        }
        if (needle && seen && strstr(a, needle)) (*seen)++;
        bm_string_free(a);
    }
}

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
    CHECK(BM_ABI_VERSION == 2, "ABI %d", BM_ABI_VERSION);
    CHECK(strcmp(bm_version(), "0.1.0") == 0, "version %s", bm_version());
    CHECK(bm_abi_version() == BM_ABI_VERSION, "library ABI %u, header ABI %d", bm_abi_version(), BM_ABI_VERSION);

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

    /* bm_nmconn_check: a keyfile's text, or a request with several files and a version. */
    expect(bm_nmconn_check, "bm_nmconn_check",
           "[connection]\nid=eth0\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=ethernet\n"
           "[ethernet]\nmtu=01500\n[ipv4]\nmethod=manual\naddress1=10.10.99.99\\24\n",
           BM_OK,
           NEEDLES("\"ok\":false", "\"code\":\"integer-octal\"", "\"line\":6", "\"code\":\"address-dropped\"",
                   "did you mean `10.10.99.99/24`?", "\"code\":\"manual-without-addresses\""));
    expect(bm_nmconn_check, "bm_nmconn_check",
           "{\"files\": [{\"name\": \"a.nmconnection\", \"text\": \"[connection]\\nid=a\\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\\n"
           "type=ethernet\\ncontroller=bond0\\nport-type=bond\\n\", \"mode\": 420, \"uid\": 0}], \"nm_version\": \"1.46\"}",
           BM_OK, NEEDLES("\"code\":\"file-insecure\"", "\"code\":\"controller-dangling\"", "\"name\":\"a.nmconnection\""));
    expect(bm_nmconn_check, "bm_nmconn_check", "{\"files\": [], \"nm_version\": \"one\"}", BM_REJECTED,
           NEEDLES("\"kind\":\"invalid_version\"", "\"path\":\"nm_version\""));
    expect(bm_nmconn_check, "bm_nmconn_check", "{\"files\": [{\"txt\": \"\"}]}", BM_REJECTED,
           NEEDLES("\"kind\":\"invalid_request\"", "unknown field"));
    expect(bm_nmconn_check, "bm_nmconn_check", NULL, BM_REJECTED, NEEDLES("\"kind\":\"null_argument\""));

    /* bm_nmconn_render: an nmstate state (YAML or JSON) to keyfiles, checked. */
    expect(bm_nmconn_render, "bm_nmconn_render",
           "interfaces:\n- name: bond0\n  type: bond\n  state: up\n  ipv4: {enabled: true, address: [{ip: 10.0.0.5, "
           "prefix-length: 24}]}\n  ipv6: {enabled: false}\n  link-aggregation: {mode: active-backup, port: [eno1]}\n"
           "- {name: eno1, type: ethernet, state: up}\n",
           BM_OK,
           NEEDLES("\"name\":\"bond0.nmconnection\"", "\"name\":\"eno1.nmconnection\"", "address1=10.0.0.5/24",
                   "master=bond0", "\"warnings\":[]"));
    expect(bm_nmconn_render, "bm_nmconn_render",
           "{\"interfaces\": [{\"name\": \"bond0\", \"type\": \"bond\", \"link-aggregation\": {\"mode\": \"lacp\"}}]}",
           BM_REJECTED, NEEDLES("\"kind\":\"invalid_state\"", "\"path\":\"interfaces[0].link-aggregation.mode\""));
    expect(bm_nmconn_render, "bm_nmconn_render", "interfaces: [", BM_REJECTED, NEEDLES("\"kind\":\"invalid_state\""));
    expect(bm_nmconn_render, "bm_nmconn_render", NULL, BM_REJECTED, NEEDLES("\"kind\":\"null_argument\""));

    /* bm_vrrp_openshift_vrids: runtimecfg's VRIDs from a cluster name, or a request with others. */
    expect(bm_vrrp_openshift_vrids, "bm_vrrp_openshift_vrids", "cnf10", BM_OK, NEEDLES("{\"api\":147,\"ingress\":2}"));
    expect(bm_vrrp_openshift_vrids, "bm_vrrp_openshift_vrids", "{\"name\": \"cnf11\"}", BM_OK,
           NEEDLES("{\"api\":228,\"ingress\":147}"));
    expect(bm_vrrp_openshift_vrids, "bm_vrrp_openshift_vrids", "{\"name\": \"cnf10\", \"others\": [\"cnf11\"]}", BM_OK,
           NEEDLES("\"others\":[{\"name\":\"cnf11\",\"api\":228,\"ingress\":147,\"collides\":true,\"shared\":[147]}]"));
    expect(bm_vrrp_openshift_vrids, "bm_vrrp_openshift_vrids", "", BM_REJECTED,
           NEEDLES("\"kind\":\"empty_cluster_name\"", "\"path\":\"name\""));
    expect(bm_vrrp_openshift_vrids, "bm_vrrp_openshift_vrids", "{\"name\": \"cnf10\", \"others\": [\"\"]}", BM_REJECTED,
           NEEDLES("\"kind\":\"empty_cluster_name\"", "\"path\":\"others[0]\""));
    expect(bm_vrrp_openshift_vrids, "bm_vrrp_openshift_vrids", "{\"cluster\": \"cnf10\"}", BM_REJECTED,
           NEEDLES("\"kind\":\"invalid_request\"", "unknown field `cluster`"));
    expect(bm_vrrp_openshift_vrids, "bm_vrrp_openshift_vrids", NULL, BM_REJECTED, NEEDLES("\"kind\":\"null_argument\""));

    /* bm_preflight_drift: keyfiles in memory against a snapshot; the MTU is all that differs. */
    expect(bm_preflight_drift, "bm_preflight_drift",
           "{\"keyfiles\": [{\"path\": \"eth0.nmconnection\", \"text\": \"[connection]\\nid=eth0\\ntype=ethernet\\n"
           "interface-name=eth0\\n[ethernet]\\nmtu=9000\\n[ipv4]\\nmethod=manual\\naddress1=10.0.0.5/24\\n\"}],"
           " \"snapshot\": {\"links\": [{\"index\": 2, \"name\": \"eth0\", \"up\": true, \"mtu\": 1500}],"
           " \"addresses\": [{\"link\": 2, \"addr\": \"10.0.0.5/24\"}]}}",
           BM_OK,
           NEEDLES("\"matched\":[{\"profile\":{\"id\":\"eth0\"", "\"link\":\"eth0\",\"field\":\"mtu\"", "\"file\":\"9000\"",
                   "\"kernel\":\"1500\"", "\"activation\":\"set\"", "\"not_loaded\":[]"));
    /* Directories: a missing one holds nothing; this host without a snapshot. */
    expect(bm_preflight_drift, "bm_preflight_drift", "{\"dirs\": [\"/nonexistent/bmnet-test\"]}", BM_OK,
           NEEDLES("\"matched\":[]", "\"differences\":[]", "\"status\":\"not-comparable\""));
    expect(bm_preflight_drift, "bm_preflight_drift", "{\"dirs\": [\"/proc/self/status\"], \"snapshot\": {}}",
           BM_INTERNAL, NEEDLES("\"kind\":\"io\"", "\"file\":\"/proc/self/status\""));
    expect(bm_preflight_drift, "bm_preflight_drift", "{\"keyfiles\": [], \"dirs\": []}", BM_REJECTED,
           NEEDLES("\"kind\":\"invalid_request\"", "\"path\":\"dirs\""));
    expect(bm_preflight_drift, "bm_preflight_drift", "{\"keyfiles\": [], \"resolv\": \"\"}", BM_REJECTED,
           NEEDLES("\"kind\":\"invalid_request\"", "unknown field `resolv`", "\"path\":\"resolv\""));
    expect(bm_preflight_drift, "bm_preflight_drift", "{\"keyfiles\": [{\"path\": \"a\"}]}", BM_REJECTED,
           NEEDLES("\"path\":\"keyfiles[0]\"", "missing field `text`"));
    expect(bm_preflight_drift, "bm_preflight_drift", NULL, BM_REJECTED, NEEDLES("\"kind\":\"null_argument\""));

    /* bm_dns_zone_*: a zone from TOML, wire bytes in and out. */
    bm_dns_zone_t *zone = NULL;
    char *zerr = NULL;
    CHECK(bm_dns_zone_new("cluster = \"c\"\nbase_domain = \"example.com\"\napi_vips = [\"192.0.2.5\"]\n"
                          "ingress_vips = [\"192.0.2.4\"]\nupstreams = [\"192.0.2.53:53\"]\n",
                          &zone, &zerr) == BM_OK && zone != NULL && zerr == NULL,
          "bm_dns_zone_new: %s", zerr ? zerr : "NULL");
    uint8_t q[512], out[512];
    size_t qlen = make_query(q, "API.c.example.com", 1), out_len = 0;
    int outcome = -1;
    CHECK(bm_dns_zone_answer(zone, q, qlen, 0, out, sizeof out, &out_len, &outcome) == BM_OK, "answer");
    CHECK(outcome == BM_DNS_ANSWERED && out_len == (size_t)qlen + 16, "outcome %d len %zu", outcome, out_len);
    CHECK(out[0] == 0x12 && out[1] == 0x34 && (out[2] & 0x84) == 0x84, "id, QR, AA");
    CHECK(memcmp(out + 12, q + 12, qlen - 12) == 0, "question echoed with its case");
    CHECK(out[out_len - 4] == 192 && out[out_len - 1] == 5, "the API VIP");
    printf("ok bm_dns_zone_answer(api) -> %zu bytes\n", out_len);
    size_t need = 0;
    CHECK(bm_dns_zone_answer(zone, q, qlen, 0, out, 10, &need, &outcome) == BM_REJECTED && need == out_len,
          "a small buffer says how much is needed (%zu)", need);
    qlen = make_query(q, "www.example.org", 1);
    CHECK(bm_dns_zone_answer(zone, q, qlen, 1, out, sizeof out, &out_len, &outcome) == BM_OK &&
              outcome == BM_DNS_FORWARD && out_len == 0,
          "outside the zone: forward");
    q[2] |= 0x80; /* a response, not a query */
    CHECK(bm_dns_zone_answer(zone, q, qlen, 0, out, sizeof out, &out_len, &outcome) == BM_OK && outcome == BM_DNS_DROP,
          "responses are dropped");
    CHECK(bm_dns_zone_answer(NULL, q, qlen, 0, out, sizeof out, &out_len, &outcome) == BM_REJECTED, "NULL zone");
    CHECK(bm_dns_zone_answer(zone, q, qlen, 0, out, sizeof out, NULL, &outcome) == BM_REJECTED, "NULL out_len");
    shared_zone = zone;
    pthread_t dns_threads[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&dns_threads[i], NULL, answer_many, NULL) == 0, "pthread_create");
    for (int i = 0; i < 4; i++) CHECK(pthread_join(dns_threads[i], NULL) == 0, "pthread_join");
    printf("ok 4 threads x 500 answers from one zone\n");
    bm_dns_zone_free(zone);
    bm_dns_zone_free(NULL);
    /* Configurations that would be served wrong are refused, with the reason. */
    zone = (bm_dns_zone_t *)1;
    CHECK(bm_dns_zone_new("{\"cluster\": \"c\", \"base_domain\": \"x\", \"api_vips\": [\"::ffff:10.0.0.5\"]}", &zone,
                          &zerr) == BM_REJECTED && zone == NULL,
          "mapped VIP");
    CHECK(strstr(zerr, "\"kind\":\"invalid_config\"") && strstr(zerr, "write 10.0.0.5"), "%s", zerr);
    bm_string_free(zerr);
    CHECK(bm_dns_zone_new("cluster = ", &zone, &zerr) == BM_REJECTED && strstr(zerr, "line 1, column 11: TOML parse error"),
          "%s", zerr);
    bm_string_free(zerr);
    CHECK(bm_dns_zone_new(NULL, &zone, &zerr) == BM_REJECTED, "NULL config");
    bm_string_free(zerr);
    CHECK(bm_dns_zone_new("{}", NULL, &zerr) == BM_REJECTED, "NULL zone_out");

    /* bm_vrrp_*: two routers, adverts carried by hand, times in nanoseconds. */
    {
        const uint64_t S = 1000000000ull;
        bm_vrrp_t *hi = NULL, *lo = NULL;
        char *verr = NULL;
        CHECK(bm_vrrp_new("{\"vrid\": 51, \"priority\": 60, \"vips\": [\"10.0.0.100\"], \"primary\": \"10.0.0.1\", "
                          "\"checks\": [{\"name\": \"haproxy\", \"weight\": -30, \"rise\": 1, \"fall\": 1}]}",
                          &hi, &verr) == BM_OK && hi, "bm_vrrp_new: %s", verr ? verr : "NULL");
        CHECK(bm_vrrp_new("{\"vrid\": 51, \"priority\": 40, \"vips\": [\"10.0.0.100\"], \"primary\": \"10.0.0.2\"}", &lo,
                          &verr) == BM_OK && lo, "bm_vrrp_new lo");
        uint8_t adv[512];
        size_t adv_len = 0;
        int added = 0, removed = 0, lo_added = 0, lo_removed = 0;
        CHECK(bm_vrrp_start(hi, 0) == BM_OK && bm_vrrp_start(lo, 0) == BM_OK, "start");
        drain(hi, NULL, NULL, &added, &removed);
        drain(lo, NULL, NULL, &lo_added, &lo_removed);
        uint64_t t_hi = 0, t_lo = 0;
        CHECK(bm_vrrp_poll_timeout(hi, &t_hi) == BM_OK && bm_vrrp_poll_timeout(lo, &t_lo) == BM_OK, "timers");
        CHECK(t_hi < t_lo, "the higher priority has the shorter master-down interval (%llu < %llu)",
              (unsigned long long)t_hi, (unsigned long long)t_lo);
        CHECK(t_hi == 3 * S + S * (256 - 60) / 256, "Master_Down_Interval in ns: %llu", (unsigned long long)t_hi);
        CHECK(bm_vrrp_handle_timeout(hi, t_hi) == BM_OK, "timeout");
        CHECK(drain(hi, adv, &adv_len, &added, &removed) >= 3 && added == 1 && adv_len == 20, "master: advert %zu", adv_len);
        /* The low router hears the master and stays backup; its timer moves. */
        CHECK(bm_vrrp_handle_packet(lo, t_hi + 1000, "10.0.0.1", "224.0.0.18", 255, adv, adv_len, &verr) == BM_OK && !verr,
              "accepted");
        uint64_t t_lo2 = 0;
        CHECK(bm_vrrp_poll_timeout(lo, &t_lo2) == BM_OK && t_lo2 > t_lo, "timer reset");
        /* Dropped packets say why. */
        CHECK(bm_vrrp_handle_packet(lo, t_hi + 2000, "10.0.0.1", "224.0.0.18", 64, adv, adv_len, &verr) == BM_REJECTED, "ttl");
        CHECK(verr && strstr(verr, "\"kind\":\"dropped\"") && strstr(verr, "TTL"), "%s", verr);
        bm_string_free(verr);
        verr = NULL;
        CHECK(bm_vrrp_handle_packet(lo, 1, "10.0.0.1", "not-an-ip", 255, adv, adv_len, &verr) == BM_REJECTED, "bad dst");
        bm_string_free(verr);
        verr = NULL;
        CHECK(bm_vrrp_handle_packet(lo, 1, "10.0.0.1", "224.0.0.18", 255, adv, 3, NULL) == BM_REJECTED, "short, NULL err ok");
        /* haproxy fails: the master drops to 30 and its next advert lets the backup preempt. */
        CHECK(bm_vrrp_set_check(hi, t_hi + S, "haproxy", 0) == BM_OK, "set_check");
        CHECK(bm_vrrp_set_check(hi, t_hi + S, "nope", 0) == BM_REJECTED, "unknown check");
        CHECK(bm_vrrp_handle_timeout(hi, t_hi + S) == BM_OK, "advert timer");
        drain(hi, adv, &adv_len, &added, &removed);
        CHECK(adv[2] == 30, "the advert carries priority %d", adv[2]);
        CHECK(bm_vrrp_handle_packet(lo, t_hi + S + 1000, "10.0.0.1", "224.0.0.18", 255, adv, adv_len, NULL) == BM_OK, "lower");
        uint64_t t_lo3 = 0;
        CHECK(bm_vrrp_poll_timeout(lo, &t_lo3) == BM_OK && t_lo3 == t_lo2, "a lower-priority master is ignored");
        CHECK(bm_vrrp_handle_timeout(lo, t_lo3) == BM_OK, "lo takes over");
        drain(lo, adv, &adv_len, &lo_added, &lo_removed);
        CHECK(lo_added == 1 && adv[2] == 40, "lo is master (%d)", adv[2]);
        CHECK(bm_vrrp_handle_packet(hi, t_lo3 + 1000, "10.0.0.2", "224.0.0.18", 255, adv, adv_len, NULL) == BM_OK, "hi hears");
        drain(hi, NULL, NULL, &added, &removed);
        CHECK(removed == 1, "hi yields and removes the VIP");
        /* Graceful stop: priority 0. */
        CHECK(bm_vrrp_shutdown(lo, t_lo3 + S) == BM_OK, "shutdown");
        drain(lo, adv, &adv_len, &lo_added, &lo_removed);
        CHECK(adv[2] == 0 && lo_removed == 1, "resigned with priority 0");
        uint64_t none = 0;
        CHECK(bm_vrrp_poll_timeout(lo, &none) == BM_REJECTED, "no timer when stopped");
        CHECK(bm_vrrp_set_link(hi, t_lo3 + S, 0) == BM_OK && bm_vrrp_poll_timeout(hi, &none) == BM_REJECTED, "link down: fault");
        CHECK(bm_vrrp_start(NULL, 0) == BM_REJECTED && bm_vrrp_poll_action(hi, NULL) == BM_REJECTED, "NULLs");
        bm_vrrp_free(hi);
        bm_vrrp_free(lo);
        bm_vrrp_free(NULL);
        bm_vrrp_t *bad = (bm_vrrp_t *)1;
        CHECK(bm_vrrp_new("{\"vrid\": 0, \"priority\": 40, \"vips\": [\"10.0.0.100\"], \"primary\": \"10.0.0.2\"}", &bad,
                          &verr) == BM_REJECTED && bad == NULL && strstr(verr, "invalid_config"), "%s", verr);
        bm_string_free(verr);
        /* keepalived.conf text, as OpenShift renders it. */
        bm_vrrp_t *ka = NULL;
        CHECK(bm_vrrp_new("vrrp_instance ostest_API {\n state BACKUP\n interface br-ex\n virtual_router_id 62\n"
                          " priority 40\n advert_int 1\n unicast_src_ip 192.168.111.20\n unicast_peer {\n 192.168.111.21\n }\n"
                          " authentication {\n auth_type PASS\n auth_pass ostest_api_vip\n }\n"
                          " virtual_ipaddress {\n 192.168.111.5/32 label vip\n }\n}\n",
                          &ka, &verr) == BM_OK && ka, "keepalived.conf: %s", verr ? verr : "NULL");
        CHECK(bm_vrrp_start(ka, 0) == BM_OK, "start");
        bm_vrrp_free(ka);
        CHECK(bm_vrrp_new("vrrp_instance X {\n virtual_router_id 7\n use_vmac\n virtual_ipaddress {\n 10.0.0.5\n }\n}\n", &ka,
                          &verr) == BM_REJECTED && strstr(verr, "\"line\":3") && strstr(verr, "use_vmac"), "%s", verr);
        bm_string_free(verr);
        printf("ok bm_vrrp_*: election, preemption by a tracked check, graceful stop, fault, keepalived.conf\n");
    }

    /* bm_vrrp_router_*: host A runs VRID 51 on two links (ifindex 2 and 3), host B on link 2;
     * adverts are routed to their instance, forged ones dropped with a reason, failed sends
     * make a master give up. */
    {
        const uint64_t S = 1000000000ull;
        bm_vrrp_router_t *a = NULL, *b = NULL;
        char *rerr = NULL, *out = NULL;
        uint32_t a0 = 99, a1 = 99, b0 = 99;
        CHECK(bm_vrrp_router_new(&a) == BM_OK && a && bm_vrrp_router_new(&b) == BM_OK && b, "router_new");
        CHECK(bm_vrrp_router_add(a, 2, "{\"vrid\": 51, \"priority\": 60, \"vips\": [\"10.0.0.100\"], \"primary\": \"10.0.0.1\"}",
                                 &a0, &rerr) == BM_OK && a0 == 0, "add a0: %s", rerr ? rerr : "");
        CHECK(bm_vrrp_router_add(a, 3, "{\"vrid\": 51, \"priority\": 60, \"vips\": [\"10.1.0.100\"], \"primary\": \"10.1.0.1\"}",
                                 &a1, NULL) == BM_OK && a1 == 1, "add a1");
        CHECK(bm_vrrp_router_add(b, 2, "{\"vrid\": 51, \"priority\": 40, \"vips\": [\"10.0.0.100\"], \"primary\": \"10.0.0.2\"}",
                                 &b0, NULL) == BM_OK && b0 == 0, "add b0");
        /* The same VRID twice on one link and family cannot be told apart. */
        CHECK(bm_vrrp_router_add(a, 2, "{\"vrid\": 51, \"priority\": 50, \"vips\": [\"10.0.0.101\"], \"primary\": \"10.0.0.9\"}",
                                 NULL, &rerr) == BM_REJECTED && strstr(rerr, "\"kind\":\"duplicate\""), "%s", rerr);
        bm_string_free(rerr);
        rerr = NULL;
        CHECK(bm_vrrp_router_start(a, 0) == BM_OK && bm_vrrp_router_start(b, 0) == BM_OK, "router_start");
        router_drain(a, 0, NULL, NULL, NULL, NULL);
        router_drain(b, 0, NULL, NULL, NULL, NULL);
        uint64_t t_a = 0;
        CHECK(bm_vrrp_router_poll_timeout(a, &t_a) == BM_OK && t_a == 3 * S + S * (256 - 60) / 256, "t_a %llu",
              (unsigned long long)t_a);
        CHECK(bm_vrrp_router_handle_timeout(a, t_a) == BM_OK, "a times out");
        uint8_t adv[512];
        size_t adv_len = 0;
        int masters = 0;
        /* Both of A's instances became master; collect instance 0's advert. */
        CHECK(bm_vrrp_router_poll_action(a, &out) == BM_OK && out && strstr(out, "\"instance\":0"), "%s", out);
        bm_string_free(out);
        out = NULL;
        router_drain(a, 0, adv, &adv_len, NULL, NULL);
        CHECK(adv_len == 20, "advert %zu", adv_len);
        CHECK(bm_vrrp_router_handle_packet(b, t_a + 1000, 2, "10.0.0.1", "224.0.0.18", 255, adv, adv_len, &out, &rerr) == BM_OK
                  && strstr(out, "\"outcome\":\"accepted\"") && strstr(out, "\"instance\":0"), "%s", out);
        bm_string_free(out);
        out = NULL;
        /* On link 3 host B runs nothing: routed nowhere. */
        CHECK(bm_vrrp_router_handle_packet(b, t_a + 1000, 3, "10.0.0.1", "224.0.0.18", 255, adv, adv_len, &out, &rerr) == BM_OK
                  && strstr(out, "\"outcome\":\"no_instance\"") && strstr(out, "\"vrid\":51"), "%s", out);
        bm_string_free(out);
        out = NULL;
        /* A forged TTL: dropped with its reason, and the first deserves a log line. */
        CHECK(bm_vrrp_router_handle_packet(b, t_a + 2000, 2, "10.0.0.1", "224.0.0.18", 64, adv, adv_len, &out, &rerr) == BM_OK
                  && strstr(out, "\"outcome\":\"dropped\"") && strstr(out, "\"drop\":\"ttl\"")
                  && strstr(out, "\"report\":{"), "%s", out);
        bm_string_free(out);
        out = NULL;
        CHECK(bm_vrrp_router_handle_packet(b, t_a + 3000, 2, "10.0.0.1", "224.0.0.18", 64, adv, adv_len, &out, &rerr) == BM_OK
                  && strstr(out, "\"report\":null"), "the second within the window gets none: %s", out);
        bm_string_free(out);
        out = NULL;
        CHECK(bm_vrrp_router_handle_packet(b, 1, 2, "10.0.0.1", "nope", 255, adv, adv_len, &out, &rerr) == BM_REJECTED
                  && strstr(rerr, "invalid_address"), "%s", rerr);
        bm_string_free(rerr);
        rerr = NULL;
        /* A's instance 0 cannot send (three in a row): FAULT, its VIP removed; the removal fails
         * and is reported, to be retried. */
        for (int k = 0; k < 3; k++)
            CHECK(bm_vrrp_router_report_send(a, t_a + 10, 0, "224.0.0.18", "Invalid argument") == BM_OK, "report_send");
        CHECK(router_drain(a, 0, NULL, NULL, "\"to\":\"fault\"", &masters) >= 2 && masters == 1, "fault %d", masters);
        CHECK(bm_vrrp_router_report_vips(a, t_a + 20, 0, "{\"op\": \"remove\", \"vips\": [\"10.0.0.100\"], \"error\": \"EPERM\"}",
                                         &rerr) == BM_OK && !rerr, "report_vips");
        CHECK(bm_vrrp_router_report_vips(a, 0, 7, "{\"op\": \"add\", \"vips\": []}", &rerr) == BM_REJECTED
                  && strstr(rerr, "unknown_instance"), "%s", rerr);
        bm_string_free(rerr);
        rerr = NULL;
        CHECK(bm_vrrp_router_status(a, t_a + 20, &out, &rerr) == BM_OK && strstr(out, "\"send_failures\":3")
                  && strstr(out, "\"pending_vip_removal\":[\"10.0.0.100\"]") && strstr(out, "\"vip_retry\""), "%s", out);
        bm_string_free(out);
        out = NULL;
        CHECK(bm_vrrp_router_set_source_usable(a, t_a + 30, 1, 0) == BM_OK, "source unusable");
        CHECK(router_drain(a, 1, NULL, NULL, "source_unusable", &masters) >= 1 && masters == 2, "source fault");
        CHECK(bm_vrrp_router_set_source_usable(a, 0, 9, 1) == BM_REJECTED, "unknown instance");
        CHECK(bm_vrrp_router_set_link(b, t_a + 40, 2, 0) == BM_OK && bm_vrrp_router_set_check(b, 0, "nope", 1) == BM_REJECTED,
              "link, check");
        CHECK(bm_vrrp_router_shutdown(a, t_a + 50) == BM_OK && bm_vrrp_router_shutdown(b, t_a + 50) == BM_OK, "shutdown");
        router_drain(a, 0, NULL, NULL, NULL, NULL);
        router_drain(b, 0, NULL, NULL, NULL, NULL);
        CHECK(bm_vrrp_router_start(NULL, 0) == BM_REJECTED && bm_vrrp_router_poll_action(a, NULL) == BM_REJECTED
                  && bm_vrrp_router_new(NULL) == BM_REJECTED, "NULLs");
        bm_vrrp_router_free(a);
        bm_vrrp_router_free(b);
        bm_vrrp_router_free(NULL);
        printf("ok bm_vrrp_router_*: routing by link and VRID, drops with reasons, send failures, VIP retries\n");
    }

    /* bm_bgp_*: two sessions wired to each other in memory (the TCP connection carried by
     * hand), times in nanoseconds: Established, a route announced and received, a Cease. */
    {
        const uint64_t S = 1000000000ull;
        bm_bgp_t *node = NULL, *tor = NULL;
        char *berr = NULL, *out = NULL;
        CHECK(bm_bgp_new("{\"local_asn\": 64512, \"peer_asn\": 64513, \"router_id\": \"10.0.0.2\", "
                         "\"next_hop_v4\": \"10.0.0.2\", \"hold_time\": 9, \"connect_retry\": 30}",
                         &node, &berr) == BM_OK && node && !berr, "bm_bgp_new node: %s", berr ? berr : "NULL");
        CHECK(bm_bgp_new("{\"local_asn\": 64513, \"peer_asn\": 64512, \"router_id\": \"10.0.0.1\", \"passive\": true}",
                         &tor, &berr) == BM_OK && tor, "bm_bgp_new tor: %s", berr ? berr : "NULL");
        /* Refused configurations name their field. */
        bm_bgp_t *none = (bm_bgp_t *)1;
        CHECK(bm_bgp_new("{\"local_asn\": 64512, \"peer_asn\": 64513, \"router_id\": \"10.0.0.2\", \"hold_time\": 2}",
                         &none, &berr) == BM_REJECTED && !none && strstr(berr, "\"kind\":\"invalid_config\"")
                  && strstr(berr, "\"path\":\"hold_time\""), "%s", berr);
        bm_string_free(berr);
        CHECK(bm_bgp_new("{\"local_asn\": 64512, \"peer_asn\": \"x\"}", &none, &berr) == BM_REJECTED
                  && strstr(berr, "\"path\":\"peer_asn\""), "%s", berr);
        bm_string_free(berr);
        CHECK(bm_bgp_new(NULL, &none, &berr) == BM_REJECTED && strstr(berr, "null_argument"), "%s", berr);
        bm_string_free(berr);
        berr = NULL;

        CHECK(bm_bgp_announce(node, 0, "192.0.2.10/32", &berr) == BM_OK && !berr, "announce");
        CHECK(bm_bgp_announce(node, 0, "192.0.2.300/32", &berr) == BM_REJECTED && strstr(berr, "\"kind\":\"invalid_prefix\"")
                  && strstr(berr, "\"path\":\"prefix\"") && strstr(berr, "\"offset\":8"), "%s", berr);
        bm_string_free(berr);
        CHECK(bm_bgp_announce(node, 0, "2001:db8::10/128", &berr) == BM_REJECTED && strstr(berr, "no_next_hop"), "%s", berr);
        bm_string_free(berr);
        berr = NULL;
        CHECK(bm_bgp_announce(node, 0, "10.0.0.5/24", NULL) == BM_REJECTED, "host bits, NULL err ok");

        CHECK(bm_bgp_start(node, 0) == BM_OK && bm_bgp_start(tor, 0) == BM_OK, "start");
        int established = 0;
        for (int round = 0; round < 6; round++) {
            bgp_pump(node, tor, S, "\"to\":\"established\"", &established);
            bgp_pump(tor, node, S, "\"to\":\"established\"", &established);
        }
        CHECK(established == 2, "both sides Established: %d", established);
        CHECK(bm_bgp_status(tor, S, &out, &berr) == BM_OK && strstr(out, "\"state\":\"established\"")
                  && strstr(out, "\"routes_received\":1,"), "%s", out);
        bm_string_free(out);
        out = NULL;
        CHECK(bm_bgp_status(node, S, &out, &berr) == BM_OK && strstr(out, "\"routes\":[\"192.0.2.10/32\"]")
                  && strstr(out, "\"peer_asn\":64513") && strstr(out, "\"hold_time\":9"), "%s", out);
        bm_string_free(out);
        out = NULL;
        /* Keepalives every 3 s (a third of the hold time). */
        uint64_t due = 0;
        CHECK(bm_bgp_poll_timeout(node, &due) == BM_OK && due == 4 * S, "keepalive at %llu", (unsigned long long)due);
        CHECK(bm_bgp_handle_timeout(node, due) == BM_OK && bgp_pump(node, tor, due, "bytes_hex", NULL) == 1, "keepalive");
        /* Announced and withdrawn while Established: sent at once. */
        CHECK(bm_bgp_announce(node, due, "192.0.2.11", NULL) == BM_OK && bgp_pump(node, tor, due, NULL, NULL) == 1, "more");
        CHECK(bm_bgp_withdraw(node, due, "192.0.2.10/32", NULL) == BM_OK && bgp_pump(node, tor, due, NULL, NULL) == 1, "less");
        bgp_pump(tor, node, due, NULL, NULL);
        CHECK(bm_bgp_status(tor, due, &out, &berr) == BM_OK && strstr(out, "\"routes_received\":2,")
                  && strstr(out, "\"withdrawals_received\":1,"), "%s", out);
        bm_string_free(out);
        out = NULL;

        /* A stop sends Cease/Administrative Shutdown with its message; the peer hears it. */
        int cease = 0, heard = 0;
        CHECK(bm_bgp_stop(node, due + S, "maintenance", &berr) == BM_OK && !berr, "stop");
        bgp_pump(node, tor, due + S, "\"event\":\"notification_sent\",\"notification\":{\"code\":{\"code\":\"cease\","
                                     "\"subcode\":\"administrative_shutdown\"}", &cease);
        bgp_pump(tor, node, due + S, "\"shutdown_message\":\"maintenance\"", &heard);
        CHECK(cease == 1 && heard == 1, "Cease sent %d, heard %d", cease, heard);
        CHECK(bm_bgp_status(tor, due + S, &out, &berr) == BM_OK && strstr(out, "\"state\":\"idle\"")
                  && strstr(out, "\"notifications_received\":1,"), "%s", out);
        bm_string_free(out);
        out = NULL;
        CHECK(bm_bgp_poll_timeout(node, &due) == BM_REJECTED, "stopped: no timer");
        char *long_message = malloc(300);
        memset(long_message, 'x', 299);
        long_message[299] = 0;
        CHECK(bm_bgp_stop(node, due, long_message, &berr) == BM_REJECTED && strstr(berr, "message_too_long"), "%s", berr);
        free(long_message);
        bm_string_free(berr);
        berr = NULL;

        /* The other inputs, and NULLs. */
        CHECK(bm_bgp_start(node, 10 * S) == BM_OK && bm_bgp_tcp_failed(node, 11 * S) == BM_OK, "tcp_failed");
        CHECK(bm_bgp_poll_timeout(node, &due) == BM_OK && due == 41 * S, "connect retry at %llu", (unsigned long long)due);
        CHECK(bm_bgp_tcp_closed(node, 12 * S) == BM_OK && bm_bgp_bfd_down(node, 12 * S, 1) == BM_OK
                  && bm_bgp_bfd_down(node, 12 * S, 32) == BM_REJECTED, "tcp_closed, bfd_down");
        bgp_pump(node, tor, 12 * S, NULL, NULL);
        CHECK(bm_bgp_start(NULL, 0) == BM_REJECTED && bm_bgp_poll_action(node, NULL) == BM_REJECTED
                  && bm_bgp_poll_timeout(node, NULL) == BM_REJECTED && bm_bgp_handle_bytes(node, 0, NULL, 5) == BM_REJECTED
                  && bm_bgp_announce(node, 0, NULL, NULL) == BM_REJECTED, "NULLs");
        CHECK(bm_bgp_withdraw(NULL, 0, "192.0.2.10/32", &berr) == BM_REJECTED && strstr(berr, "\"path\":\"bgp\""), "%s", berr);
        bm_string_free(berr);
        bm_bgp_free(node);
        bm_bgp_free(tor);
        bm_bgp_free(NULL);
        printf("ok bm_bgp_*: Established in memory, a route announced and withdrawn, Cease with a message\n");
    }

    /* Concurrent calls. */
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&threads[i], NULL, classify_many, NULL) == 0, "pthread_create");
    for (int i = 0; i < 4; i++) CHECK(pthread_join(threads[i], NULL) == 0, "pthread_join");
    printf("ok 4 threads x 200 calls\n");

    printf("all %d checks passed\n", checks);
    return 0;
}
