/* Unit test of httpd/ready over real folders: ready once every origin answers, not ready with
 * the origin and the reason when one goes away, ready again when it is back; the checker stops
 * at once. (A stat that hangs needs a FUSE mount: tests/it_httpd_metrics.sh.) */
#include "check.h"
#include "clock.h"
#include "origin.h"
#include "ready.h"

#include <errno.h>
#include <sys/stat.h>

/* Poll ready_check() for up to 5 s until it returns want. */
static int settle(struct ready *r, int want, char why[READY_WHY_LEN])
{
    uint64_t until = clock_now_ns() + 5000000000u;
    int rc;

    while ((rc = ready_check(r, why)) != want && clock_now_ns() < until) {
        struct timespec tick = {0, 20000000};
        nanosleep(&tick, NULL);
    }
    return rc;
}

int main(void)
{
    char a[] = "/tmp/test_ready.XXXXXX", b[64], why[READY_WHY_LEN] = "";
    int err = 0;

    ok(mkdtemp(a) != NULL, "a folder");
    snprintf(b, sizeof(b), "%s/b", a);
    mkdir(b, 0755);
    struct origin *o[2] = {origin_new(a, &err), origin_new(b, &err)};
    ok(o[0] && o[1], "two origins");
    struct ready *r = ready_new(o, 2);
    ok(r != NULL, "the checker starts");
    ok(settle(r, 0, why) == 0, "both answer: ready");
    rmdir(b);
    int rc = settle(r, -ENOENT, why);
    ok(rc == -ENOENT && strstr(why, b) && strstr(why, "No such file"),
       "one removed: not ready, saying which and why: %s", why);
    ok(!ready_is_stuck(r), "no stat is stuck");
    mkdir(b, 0755);
    ok(settle(r, 0, why) == 0, "back: ready again");
    uint64_t t0 = clock_now_ns();
    ready_free(r, 5);
    ok(clock_now_ns() - t0 < 1000000000u, "the checker stops at once, not after its second");
    ready_free(NULL, 0);
    origin_free(o[0]);
    origin_free(o[1]);
    rmdir(b);
    rmdir(a);
    return check_done();
}
