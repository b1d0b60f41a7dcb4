/* Unit test of fs/mountopt: -o as /etc/fstab and mount(8) give it to blobfs. Each item goes
 * to our options (by their long name, '_' for '-'), is dropped (mount(8)'s own), or goes on to
 * FUSE; tokens are refused; values point into the text, which is split in place. */
#include "check.h"
#include "mountopt.h"

#include <errno.h>

enum { OPT_ACCOUNT = 256, OPT_SAS_FILE, OPT_DEBUG, OPT_ATTR };

static const struct option opts[] = {
    {"account", required_argument, NULL, OPT_ACCOUNT},
    {"sas-file", required_argument, NULL, OPT_SAS_FILE},
    {"attr-timeout", required_argument, NULL, OPT_ATTR},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"foreground", no_argument, NULL, 'f'},
    {NULL, 0, NULL, 0},
};

/* What the callback saw, "id=value;" each, FUSE's as "fuse:item;". */
static char seen[1024];

static int record(void *arg, int id, char *value)
{
    size_t n = strlen(seen);

    (void)arg;
    if (id == OPT_ATTR && value && strcmp(value, "bad") == 0)
        return -ERANGE;
    if (id)
        snprintf(seen + n, sizeof(seen) - n, "%d=%s;", id, value ? value : "(none)");
    else
        snprintf(seen + n, sizeof(seen) - n, "fuse:%s;", value);
    return 0;
}

/* Parse text (a copy); returns the result, with seen and err filled. */
static int parse(const char *text, char err[MOUNTOPT_ERR_LEN])
{
    static char buf[512];

    seen[0] = '\0';
    snprintf(buf, sizeof(buf), "%s", text);
    return mountopt_parse(buf, opts, record, NULL, err);
}

int main(void)
{
    char err[MOUNTOPT_ERR_LEN];

    ok(parse("ro,account=acct,sas_file=/etc/blobkit/media.sas,allow_other,dev,suid", err) == 0,
       "what mount.fuse passes from an fstab line");
    ok_str(seen, "fuse:ro;256=acct;257=/etc/blobkit/media.sas;fuse:allow_other;fuse:dev;fuse:suid;",
           "ours by their long names with '_', the rest to FUSE, in order");
    ok(parse("sas-file=/x,attr_timeout=30,debug", err) == 0, "'-' spelling, a number, a flag");
    ok_str(seen, "257=/x;259=30;258=(none);", "each to its option");
    ok(parse("_netdev,nofail,noauto,auto,user,users,nouser,owner,group,defaults,"
             "x-systemd.automount,comment=x,allow_other",
             err) == 0,
       "mount(8)'s own options");
    ok_str(seen, "fuse:allow_other;", "are dropped");
    ok(parse(",,allow_other,,", err) == 0, "empty items");
    ok_str(seen, "fuse:allow_other;", "are skipped");
    ok(parse("foreground", err) == 0, "an option with a short form (-f)");
    ok_str(seen, "fuse:foreground;", "is not taken from -o (fstab must not keep mount waiting)");
    ok(parse("accountx=1", err) == 0 && strcmp(seen, "fuse:accountx=1;") == 0,
       "a longer key is no option of ours");

    ok(parse("allow_other,sas=?sv=1&sig=abc", err) == -EINVAL && strstr(err, "sas_file=FILE") &&
           !strstr(err, "sig="),
       "an inline SAS token is refused, without echoing it: %s", err);
    ok(parse("sas_token=x", err) == -EINVAL, "as sas_token too");
    ok(parse("account", err) == -EINVAL && strstr(err, "wants a value"), "a key without value: %s",
       err);
    ok(parse("debug=1", err) == -EINVAL && strstr(err, "takes no value"), "a flag with a value: %s",
       err);
    ok(parse("allow_other,attr_timeout=bad,account=a", err) == -ERANGE && err[0] == '\0' &&
           strcmp(seen, "fuse:allow_other;") == 0,
       "the callback's own error stops the parse there");

    char text[] = "account=acct,allow_other";
    seen[0] = '\0';
    mountopt_parse(text, opts, record, NULL, err);
    ok(strcmp(text, "account=acct") == 0 && strcmp(text + 13, "allow_other") == 0,
       "split in place: the values live in the caller's text");
    return check_done();
}
