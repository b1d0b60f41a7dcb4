/* Unit test of common/metrics: the exact text of each kind of family (Prometheus's text format
 * 0.0.4), escaping, bounded series, refused definitions, and counts that add up when threads
 * update at once. The integration tests parse the programs' output with Prometheus's own
 * parser (python3-prometheus-client). */
#include "check.h"
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>

static const char *const codes[] = {"200", "404", "other"};
static const char *const ends[] = {"/demo", "a\"b\\c\nd"};
static const struct metrics_label code = {"code", codes, 3};
static const struct metrics_label endpoint = {"endpoint", ends, 2};

static char *last; /* the last render's text */

/* The text of m, or "" after printing why not. Freed at the next call. */
static const char *render(struct metrics *m)
{
    size_t len;

    metrics_text_free(last);
    last = NULL;
    int rc = metrics_render(m, &last, &len);
    if (rc) {
        printf("# render: %d\n", rc);
        return "";
    }
    if (strlen(last) != len)
        printf("# render: length %zu, strlen %zu\n", len, strlen(last));
    return last;
}

static void counters(void)
{
    struct metrics *m = metrics_new();
    struct metrics_family *plain = metrics_add_counter(m, "t_plain_total", "Plain.", 1, NULL, NULL);
    struct metrics_family *req =
        metrics_add_counter(m, "t_req_total", "Requests\\answered\nby code.", 1, &endpoint, &code);
    struct metrics_family *cpu =
        metrics_add_counter(m, "t_cpu_seconds_total", "CPU.", 1e-6, NULL, NULL);

    ok_str(render(m),
           "# HELP t_plain_total Plain.\n# TYPE t_plain_total counter\nt_plain_total 0\n"
           "# HELP t_req_total Requests\\\\answered\\nby code.\n# TYPE t_req_total counter\n"
           "# HELP t_cpu_seconds_total CPU.\n# TYPE t_cpu_seconds_total counter\n"
           "t_cpu_seconds_total 0\n",
           "an unlabelled counter is always written, a labelled one only once it moved");
    metrics_inc(plain, 0, 0, 3);
    metrics_inc(req, 0, 1, 2);
    metrics_inc(req, 1, 2, 1);
    metrics_inc(req, 2, 0, 1);       /* no third endpoint: ignored */
    metrics_inc(req, 0, 3, 1);       /* no fourth code: ignored */
    metrics_inc(NULL, 0, 0, 1);      /* metrics off */
    metrics_gauge_set(req, 0, 0, 5); /* not a gauge: ignored */
    metrics_counter_set(cpu, 0, 0, 1500000);
    ok_str(render(m),
           "# HELP t_plain_total Plain.\n# TYPE t_plain_total counter\nt_plain_total 3\n"
           "# HELP t_req_total Requests\\\\answered\\nby code.\n# TYPE t_req_total counter\n"
           "t_req_total{endpoint=\"/demo\",code=\"404\"} 2\n"
           "t_req_total{endpoint=\"a\\\"b\\\\c\\nd\",code=\"other\"} 1\n"
           "# HELP t_cpu_seconds_total CPU.\n# TYPE t_cpu_seconds_total counter\n"
           "t_cpu_seconds_total 1.5\n",
           "counts, escaped label values, a scaled counter; out-of-range updates ignored");
    metrics_free(m);
}

static void gauges(void)
{
    struct metrics *m = metrics_new();
    struct metrics_family *g = metrics_add_gauge(m, "t_bytes", "Bytes.", NULL, NULL);
    struct metrics_family *e = metrics_add_gauge(m, "t_up", "Up.", &code, NULL);

    metrics_gauge_set(g, 0, 0, 1234567890123.0);
    metrics_gauge_set(e, 1, 0, 0.25);
    metrics_gauge_set(e, 2, 0, NAN);
    ok_str(render(m),
           "# HELP t_bytes Bytes.\n# TYPE t_bytes gauge\nt_bytes 1234567890123\n"
           "# HELP t_up Up.\n# TYPE t_up gauge\nt_up{code=\"200\"} 0\nt_up{code=\"404\"} 0.25\n"
           "t_up{code=\"other\"} NaN\n",
           "gauges: every series, exact integers, fractions, NaN");
    metrics_gauge_set(g, 0, 0, -INFINITY);
    ok(strstr(render(m), "t_bytes -Inf\n") != NULL, "-Inf");
    metrics_free(m);
}

static void histograms(void)
{
    static const double b[] = {0.1, 0.5, 1};
    struct metrics *m = metrics_new();
    struct metrics_family *h = metrics_add_histogram(m, "t_d_seconds", "Duration.", b, 3, NULL);
    struct metrics_family *k = metrics_add_histogram(m, "t_k_seconds", "By code.", b, 3, &code);

    metrics_observe(h, 0, 0.05);
    metrics_observe(h, 0, 0.1); /* le: a value equal to a bound is in its bucket */
    metrics_observe(h, 0, 0.7);
    metrics_observe(h, 0, 30);
    metrics_observe(h, 0, NAN); /* ignored */
    metrics_observe(k, 1, 0.2);
    ok_str(render(m),
           "# HELP t_d_seconds Duration.\n# TYPE t_d_seconds histogram\n"
           "t_d_seconds_bucket{le=\"0.1\"} 2\nt_d_seconds_bucket{le=\"0.5\"} 2\n"
           "t_d_seconds_bucket{le=\"1\"} 3\nt_d_seconds_bucket{le=\"+Inf\"} 4\n"
           "t_d_seconds_sum 30.85\nt_d_seconds_count 4\n"
           "# HELP t_k_seconds By code.\n# TYPE t_k_seconds histogram\n"
           "t_k_seconds_bucket{code=\"404\",le=\"0.1\"} 0\n"
           "t_k_seconds_bucket{code=\"404\",le=\"0.5\"} 1\n"
           "t_k_seconds_bucket{code=\"404\",le=\"1\"} 1\n"
           "t_k_seconds_bucket{code=\"404\",le=\"+Inf\"} 1\n"
           "t_k_seconds_sum{code=\"404\"} 0.2\nt_k_seconds_count{code=\"404\"} 1\n",
           "histograms: cumulative buckets, +Inf, sum and count; empty labelled series left out");
    metrics_free(m);
}

static void refused(void)
{
    static const double down[] = {1, 0.5}, many[METRICS_MAX_BUCKETS + 1] = {0};
    static const char *const one[] = {"x"};
    struct metrics_label le = {"le", one, 1}, bad = {"a-b", one, 1}, none = {"n", one, 0};
    struct metrics_label huge = {"n", one, METRICS_MAX_VALUES + 1};
    struct metrics *m = metrics_new();

    ok(!metrics_add_counter(m, "9lives", "", 1, NULL, NULL), "a name starting with a digit");
    ok(!metrics_add_counter(m, "a-b", "", 1, NULL, NULL), "a name with '-'");
    ok(!metrics_add_gauge(m, "", "", NULL, NULL), "an empty name");
    ok(!metrics_add_gauge(m, "t", "", &le, NULL), "a label named le");
    ok(!metrics_add_gauge(m, "t", "", &bad, NULL), "a bad label name");
    ok(!metrics_add_gauge(m, "t", "", &none, NULL), "a label without values");
    ok(!metrics_add_gauge(m, "t", "", &huge, NULL), "a label with too many values");
    ok(!metrics_add_gauge(m, "t", "", NULL, &code), "a second label without a first");
    ok(!metrics_add_histogram(m, "t", "", down, 2, NULL), "buckets out of order");
    ok(!metrics_add_histogram(m, "t", "", many, METRICS_MAX_BUCKETS + 1, NULL), "too many buckets");
    ok(!metrics_add_histogram(m, "t", "", many, 0, NULL), "no buckets");
    ok_str(render(m), "", "nothing refused was added");
    metrics_free(m);
    metrics_free(NULL);
}

/* A collect callback sets a gauge at every render. */
static void collect(void *arg)
{
    static int calls;

    metrics_gauge_set(arg, 0, 0, ++calls);
}

static void collecting(void)
{
    struct metrics *m = metrics_new();
    struct metrics_family *g = metrics_add_gauge(m, "t_calls", "Renders.", NULL, NULL);
    int rc = 0;

    ok(metrics_on_collect(m, collect, g) == 0, "a collect callback is taken");
    render(m);
    ok(strstr(render(m), "t_calls 2\n") != NULL, "it runs at every render");
    for (int i = 0; i < 8 && rc == 0; i++)
        rc = metrics_on_collect(m, collect, g);
    ok(rc == -ENOSPC, "at most 8 of them");
    metrics_free(m);
}

/* The text stops at METRICS_TEXT_MAX: a registry that would write more fails to render. */
static void too_big(void)
{
    static const char *values[METRICS_MAX_VALUES];
    static char names[METRICS_MAX_VALUES][8];
    struct metrics_label l = {"v", values, METRICS_MAX_VALUES};
    struct metrics *m = metrics_new();
    char *text = NULL;
    size_t len;

    for (size_t i = 0; i < METRICS_MAX_VALUES; i++) {
        snprintf(names[i], sizeof(names[i]), "v%zu", i);
        values[i] = names[i];
    }
    for (int i = 0; i < 80; i++)
        metrics_add_gauge(m, "t_wide_gauge_with_a_long_name", "Wide.", &l, &l);
    ok(metrics_render(m, &text, &len) == -E2BIG && !text, "a text over the cap is refused");
    metrics_free(m);
}

struct hammer {
    struct metrics_family *c, *h;
};

static void *hammer(void *arg)
{
    struct hammer *hm = arg;

    for (int i = 0; i < 100000; i++) {
        metrics_inc(hm->c, 0, 0, 1);
        metrics_observe(hm->h, 0, 0.25);
    }
    return NULL;
}

static void threads(void)
{
    static const double b[] = {1};
    struct metrics *m = metrics_new();
    struct hammer hm = {metrics_add_counter(m, "t_n_total", "N.", 1, NULL, NULL),
                        metrics_add_histogram(m, "t_h", "H.", b, 1, NULL)};
    pthread_t t[4];

    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, &hm);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    const char *text = render(m);
    ok(strstr(text, "t_n_total 400000\n") != NULL, "4 threads x 100000 increments: no lost count");
    ok(strstr(text, "t_h_count 400000\n") && strstr(text, "t_h_sum 100000\n"),
       "and no lost observation or sum");
    metrics_free(m);
}

int main(void)
{
    counters();
    gauges();
    histograms();
    refused();
    collecting();
    too_big();
    threads();
    metrics_text_free(last);
    return check_done();
}
