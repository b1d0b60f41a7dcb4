vcl 4.1;
# blobkit's cache tier: Varnish 7.1 in front of N stateless blobhttpd nodes (each a blobfs
# mount of the same container plus a blobhttpd). Why Varnish and not nginx, the figures and
# how to run it: docs/scale-out.md.
#
# What this file does, in request order:
#   - routes each request by its *source* (Host + path without the tr: segment and without
#     the query) through a consistent-hash shard director, so every variant of one source
#     (all chains, formats, client hints, signatures) is made on one node and adding or
#     removing a node moves about 1/N of the sources;
#   - normalises Accept into exactly the classes blobhttpd's format choice distinguishes
#     (tr_pick_format(): "does the client take AVIF", "does it take WebP", nothing else) and
#     the client hints into blobhttpd's own parse, so the cache never serves a wrong variant
#     and holds no more copies than there are answers; Varnish's Vary handling does the rest;
#   - keys the cache by the raw URL, so a signed response is only ever served to a request
#     carrying that very signature (the node verified it), never past its ik-t;
#   - retries a request once on the next node only when the connection to its node failed
#     (killed, unreachable), never after an answer: a node's 503 goes to the client as it is;
#   - coalesces identical misses (Varnish's waiting list): one fetch, one transform;
#   - adds X-Cache-Status (HIT, MISS, PASS, REVALIDATED, ERROR) and X-Upstream (the node).
#
# The cluster itself comes from cluster.vcl beside this file: the backends and their health
# probe, the shard director blobkit_nodes, the ACL blobkit_purgers (who may ban), and two
# policies, blobkit_avif_policy (the nodes' --avif-auto) and blobkit_cap_ttl (the front TTL):
# scripts/cluster.sh writes it, and deploy/varnish/cluster.vcl.example shows its shape.
import directors;
import std;

include "cluster.vcl";

sub vcl_recv {
    # Purges reach the cache as bans from the nodes (see cluster.vcl's blobkit_purgers):
    # "BAN /ANY" with X-Blobkit-Ban: SOURCE_KEY (or SOURCE_KEY_PREFIX*) drops every variant.
    if (req.method == "BAN") {
        call blobkit_ban;
    }
    if (req.method != "GET" && req.method != "HEAD") {
        # blobhttpd answers other methods itself (405, and later the purge API's POST).
        call blobkit_route_key;
        return (pass);
    }
    # ImageKit's purge API: its status requests (GET) carry credentials and are never cached.
    if (req.url ~ "^/v1/files/purge(/|\?|$)") {
        call blobkit_route_key;
        return (pass);
    }
    # blobhttpd reads neither; without them nothing is personal, and a stray header cannot
    # make a request bypass the cache (the builtin VCL passes requests that carry one).
    unset req.http.Cookie;
    unset req.http.Authorization;
    unset req.http.X-Blobkit-Cache;
    call blobkit_route_key;
    call blobkit_normalise_accept;
    call blobkit_normalise_hints;
    if (req.url ~ "^/healthz(\?|$)") {
        return (pass);
    }
    # An expired signed URL is the node's to refuse (401); nothing cached may answer it.
    if (req.url ~ "[?&]ik-t=") {
        set req.http.X-Blobkit-Expiry = regsub(req.url, "^.*[?&]ik-t=([0-9]{1,12})(&.*)?$", "\1");
        if (req.http.X-Blobkit-Expiry !~ "^[0-9]+$" ||
            std.time(req.http.X-Blobkit-Expiry, now) < now) {
            unset req.http.X-Blobkit-Expiry;
            return (pass);
        }
        unset req.http.X-Blobkit-Expiry;
    }
    return (hash);
}

# The routing key: Host (lower case, no port) and the source's path, i.e. the URL without its
# query and without a "tr:..." path segment. blobhttpd takes the chain from the first segment
# after the endpoint; the front does not know the endpoints, so it drops any such segment:
# that only decides where a request goes, never what it answers.
sub blobkit_route_key {
    set req.http.X-Blobkit-Key = std.tolower(regsub(req.http.Host, ":[0-9]+$", "")) +
        regsuball(regsub(req.url, "[?#].*$", ""), "/tr:[^/]*", "");
    # A video's derived URLs (VIDEO/ik-thumbnail.jpg, /ik-master.m3u8, /ik-hls/..., ...) are
    # variants of VIDEO: the same node makes them (one job per video in the cluster), and a
    # purge of VIDEO bans them with the rest.
    set req.http.X-Blobkit-Key = regsub(req.http.X-Blobkit-Key,
        "/ik-(thumbnail\.jpg|video\.mp4|master\.m3u8|master\.mpd|hls/|dash/).*$", "");
    # Every purge call goes to one node: a request ID is known to the node that took the
    # purge, so its status requests must reach that node too.
    if (req.url ~ "^/v1/files/purge(/|\?|$)") {
        set req.http.X-Blobkit-Key = std.tolower(regsub(req.http.Host, ":[0-9]+$", "")) +
            "/v1/files/purge";
    }
}

# tr_pick_format() asks two questions of Accept: does it name image/avif (only with the
# nodes' --avif-auto on) and does it name image/webp, each as a list element of its own with
# a non-zero q. The node gets exactly one canonical header per class, the cache varies on
# that, and "image/*" or "*/*" never count (browsers without WebP send them too).
sub blobkit_normalise_accept {
    set req.http.X-Blobkit-Webp = "";
    set req.http.X-Blobkit-Avif = "";
    if (req.http.Accept ~ "(?i)(^|,)[ \t]*image/webp([ \t;,]|$)") {
        set req.http.X-Blobkit-Webp = regsub(req.http.Accept,
            "(?i)^(?:.*?,)?[ \t]*image/webp((?:[ \t;][^,]*)?)(?:,.*)?$", "q\1");
    }
    if (req.http.Accept ~ "(?i)(^|,)[ \t]*image/avif([ \t;,]|$)") {
        set req.http.X-Blobkit-Avif = regsub(req.http.Accept,
            "(?i)^(?:.*?,)?[ \t]*image/avif((?:[ \t;][^,]*)?)(?:,.*)?$", "q\1");
    }
    # A q of zero (or one that does not parse as a number above zero) refuses the type.
    if (req.http.X-Blobkit-Webp ~ "(?i)q=[ \t]*(0*\.?0*|[^0-9. \t][^;]*)([ \t;]|$)") {
        set req.http.X-Blobkit-Webp = "";
    }
    if (req.http.X-Blobkit-Avif ~ "(?i)q=[ \t]*(0*\.?0*|[^0-9. \t][^;]*)([ \t;]|$)") {
        set req.http.X-Blobkit-Avif = "";
    }
    call blobkit_avif_policy;
    if (req.http.X-Blobkit-Avif != "" && req.http.X-Blobkit-Webp != "") {
        set req.http.Accept = "image/avif,image/webp";
    } elsif (req.http.X-Blobkit-Avif != "") {
        set req.http.Accept = "image/avif";
    } elsif (req.http.X-Blobkit-Webp != "") {
        set req.http.Accept = "image/webp";
    } else {
        unset req.http.Accept;
    }
    unset req.http.X-Blobkit-Webp;
    unset req.http.X-Blobkit-Avif;
}

# blobhttpd reads Sec-CH-DPR as a number in (0, 5] and Sec-CH-Width as an integer in
# (0, 16383], anything else as absent; the front sends the same values in one spelling.
# It varies on no other hint (Width, DPR, Viewport-Width), so those are left alone.
sub blobkit_normalise_hints {
    if (req.http.Sec-CH-DPR) {
        if (std.real(req.http.Sec-CH-DPR, 0) > 0 && std.real(req.http.Sec-CH-DPR, 0) <= 5) {
            set req.http.Sec-CH-DPR = std.real(req.http.Sec-CH-DPR, 0);
        } else {
            unset req.http.Sec-CH-DPR;
        }
    }
    if (req.http.Sec-CH-Width) {
        if (std.integer(req.http.Sec-CH-Width, 0) > 0 &&
            std.integer(req.http.Sec-CH-Width, 0) <= 16383) {
            set req.http.Sec-CH-Width = std.integer(req.http.Sec-CH-Width, 0);
        } else {
            unset req.http.Sec-CH-Width;
        }
    }
}

# Bans test only obj.* so Varnish's ban lurker can drop objects in the background.
sub blobkit_ban {
    if (client.ip !~ blobkit_purgers) {
        return (synth(403, "Forbidden"));
    }
    if (!req.http.X-Blobkit-Ban || req.http.X-Blobkit-Ban !~ "^[^\s]+$") {
        return (synth(400, "X-Blobkit-Ban: SOURCE_KEY or PREFIX* expected"));
    }
    if (req.http.X-Blobkit-Ban ~ "\*$") {
        std.ban("obj.http.X-Blobkit-Key ~ ^" +
            regsuball(regsub(req.http.X-Blobkit-Ban, "\*$", ""), "([^A-Za-z0-9/_-])", "\\\1"));
    } else {
        std.ban("obj.http.X-Blobkit-Key == " + req.http.X-Blobkit-Ban);
    }
    if (std.ban_error() != "") {
        return (synth(400, std.ban_error()));
    }
    return (synth(200, "Banned"));
}

sub vcl_hit {
    set req.http.X-Blobkit-Cache = "HIT";
}

sub vcl_miss {
    set req.http.X-Blobkit-Cache = "MISS";
}

sub vcl_pass {
    set req.http.X-Blobkit-Cache = "PASS";
}

sub vcl_backend_fetch {
    # alt = the retry count: a retry after a failed connection goes to the next node on the
    # ring; healthy=ALL skips nodes the probe found down, so their keys move to the others.
    set bereq.backend = blobkit_nodes.backend(by=KEY,
        key=blobkit_nodes.key(bereq.http.X-Blobkit-Key), alt=bereq.retries, healthy=ALL);
}

sub vcl_backend_error {
    set beresp.http.X-Cache-Status = "ERROR";
    set beresp.http.X-Upstream = beresp.backend.name;
    # No answer at all (connection refused or reset: the node died). GET and HEAD are safe
    # to send again, once, to the next node. An answer, even a 503, is never retried here.
    if (bereq.retries == 0 && (bereq.method == "GET" || bereq.method == "HEAD")) {
        return (retry);
    }
}

sub vcl_backend_response {
    set beresp.http.X-Upstream = beresp.backend.name;
    # Kept on the object for bans; never sent to clients (vcl_deliver).
    set beresp.http.X-Blobkit-Key = bereq.http.X-Blobkit-Key;
    if (beresp.was_304) {
        set beresp.http.X-Blobkit-Revalidated = "1";
    } else {
        unset beresp.http.X-Blobkit-Revalidated;
    }
    if (beresp.status >= 500) {
        # A busy (503) or failing node: the client gets this answer, nothing is kept, and
        # the next request for the URL asks again.
        set beresp.ttl = 0s;
        set beresp.grace = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    # Files over 16 MiB (video) are passed: a cache of images is not spent on them, and Range
    # requests then reach the node as they are.
    if (std.integer(beresp.http.Content-Length, 0) > 16777216) {
        return (pass(120s));
    }
    # The nodes say 180 days (ImageKit's s-maxage); the front keeps an object that long but
    # asks the node again (If-None-Match, answered 304 without a transform) after the cap,
    # so an overwritten blob shows within the cap plus blobfs's --attr-timeout.
    call blobkit_cap_ttl;
    set beresp.keep = 30d;
    set beresp.grace = 0s;
    if (bereq.url ~ "[?&]ik-s=") {
        call blobkit_signed_ttl;
    }
    return (deliver);
}

# A signed response lives at most until its ik-t, and is never served stale or revalidated
# past it: an expired URL must reach the node, which answers 401.
sub blobkit_signed_ttl {
    set beresp.keep = 0s;
    if (bereq.url ~ "[?&]ik-t=") {
        set bereq.http.X-Blobkit-Expiry = regsub(bereq.url,
            "^.*[?&]ik-t=([0-9]{1,12})(&.*)?$", "\1");
        if (bereq.http.X-Blobkit-Expiry !~ "^[0-9]+$") {
            set beresp.ttl = 0s;
        } elsif (std.time(bereq.http.X-Blobkit-Expiry, now) - now < beresp.ttl) {
            set beresp.ttl = std.time(bereq.http.X-Blobkit-Expiry, now) - now;
        }
        unset bereq.http.X-Blobkit-Expiry;
        if (beresp.ttl <= 0s) {
            set beresp.ttl = 0s;
            set beresp.uncacheable = true;
        }
    }
}

sub vcl_deliver {
    if (req.http.X-Blobkit-Cache == "MISS" && resp.http.X-Blobkit-Revalidated) {
        set resp.http.X-Cache-Status = "REVALIDATED";
    } else {
        set resp.http.X-Cache-Status = req.http.X-Blobkit-Cache;
    }
    unset resp.http.X-Blobkit-Key;
    unset resp.http.X-Blobkit-Revalidated;
    unset resp.http.Via;
    unset resp.http.X-Varnish;
}

sub vcl_synth {
    set resp.http.X-Cache-Status = "ERROR";
}
