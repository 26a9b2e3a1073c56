# Varnish (7.1, VCL 4.1) in front of glint: caches avatar images as glint's Cache-Control
# says, passes the API, and accepts the purges glint's purge client sends
# (http/purge_client.h):
#
#   BAN /  with  Surrogate-Key: k1 k2 ...
#       bans every cached object whose Surrogate-Key response header holds any of the keys
#       as a whole token (key "avatar-abc" never bans "avatar-abcd"). glint tags every size
#       and format of an avatar with "avatar-<sha256 hex of the email>", so one BAN drops all
#       of them. The ban tests only obj.* and so is evaluated by the ban lurker in the
#       background, not by the next request.
#   PURGE /avatar/<hash>?s=80
#       drops that exact URL (every Vary: Accept variant of it).
#   PURGE /avatar/<hash>*
#       a trailing "*" drops every cached URL starting with the prefix (all query strings),
#       as a lurker-friendly ban on the URL kept in obj.http.X-Glint-Url.
#   Both answer 200 when done, 403 to a client outside the "purgers" ACL and 400 to a
#   malformed request.
#
# Run it with, for example:
#   varnishd -a :6081 -f /etc/varnish/glint.vcl -s malloc,256m
# The backend is glint on 127.0.0.1:8080 (its default --listen); edit .host and .port in
# "backend glint" below when it listens elsewhere. Add the addresses allowed to purge (the
# hosts running glint) to "acl purgers"; when Varnish sits behind a TLS terminator or
# another proxy, client.ip is that proxy, so keep purges on a port it does not forward.
#
# The cache key is the URL alone (not the Host header): glint serves the same bytes under
# every host name it answers to, and a purge sent to 127.0.0.1 must hit objects fetched
# through the public name. Add req.http.host to vcl_hash when one Varnish fronts several
# sites.
#
# Responses carry "X-Cache: HIT" (served from the cache, including stale-while-revalidate
# grace hits) or "X-Cache: MISS" (fetched from glint, or passed). It is a debugging aid
# only; nothing depends on it and it may be removed.
vcl 4.1;

import std;

backend glint {
    .host = "127.0.0.1";
    .port = "8080";
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "BAN") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        # One or more space-separated keys of letters, digits and "._:-". Anything else is
        # refused rather than pasted into a regular expression.
        if (req.http.Surrogate-Key !~ "^ *[A-Za-z0-9._:-]+( +[A-Za-z0-9._:-]+)* *$") {
            return (synth(400, "BAN needs a Surrogate-Key header of keys [A-Za-z0-9._:-]"));
        }
        # "k1 k2" -> (^|[[:space:]])(k1|k2)([[:space:]]|$): a whole-token match of any key.
        # std.ban takes the expression's words unquoted, so the regular expression holds
        # no space, and no backslash either: "." becomes "[.]".
        set req.http.X-Ban-Keys = regsuball(
            regsuball(regsuball(req.http.Surrogate-Key, "^ +| +$", ""), "[.]", "[.]"),
            " +", "|");
        if (std.ban("obj.http.Surrogate-Key ~ (^|[[:space:]])(" + req.http.X-Ban-Keys +
                    ")([[:space:]]|$)")) {
            return (synth(200, "Banned"));
        }
        return (synth(400, std.ban_error()));
    }
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (req.url ~ "\*$") {
            # A prefix of path characters; "." "?" "+" are made literal by a bracket.
            if (req.url !~ "^/[A-Za-z0-9/._~%=&?+,;:@-]*\*$") {
                return (synth(400, "PURGE prefix has characters other than [A-Za-z0-9/._~%=&?+,;:@-]"));
            }
            set req.http.X-Ban-Prefix = regsuball(regsub(req.url, "\*$", ""), "([.?+])", "[\1]");
            if (std.ban("obj.http.X-Glint-Url ~ ^" + req.http.X-Ban-Prefix)) {
                return (synth(200, "Purged"));
            }
            return (synth(400, std.ban_error()));
        }
        return (purge);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # The API and anything carrying credentials go to glint every time.
    if (req.url ~ "^/v[0-9]+/" || req.http.Authorization) {
        return (pass);
    }
    # glint reads no cookies; a cookie set on the domain must not make avatars uncacheable.
    unset req.http.Cookie;
    # glint picks WebP when Accept names image/webp and the source format otherwise
    # (core::ResolveFormat), so only that bit of Accept makes a Vary: Accept variant.
    if (req.http.Accept ~ "image/webp") {
        set req.http.Accept = "image/webp";
    } else {
        unset req.http.Accept;
    }
    return (hash);
}

sub vcl_hash {
    hash_data(req.url);
    return (lookup);
}

sub vcl_purge {
    return (synth(200, "Purged"));
}

sub vcl_backend_response {
    # Cache only what glint marks cacheable (avatars: "public, max-age=300"); health checks,
    # errors and everything without a Cache-Control header are not kept. "private" and
    # "no-store" answers are made uncacheable by the built-in VCL that runs after this.
    if (!beresp.http.Cache-Control) {
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }
    # The URL, for the prefix PURGE's lurker-friendly ban.
    set beresp.http.X-Glint-Url = bereq.url;
    # Past its max-age an object is kept a while longer so Varnish revalidates it with
    # glint's ETag (If-None-Match; a 304 refreshes it without the bytes).
    set beresp.keep = 1h;
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    unset resp.http.Surrogate-Key;
    unset resp.http.X-Glint-Url;
}

sub vcl_synth {
    # Purge answers are for scripts: the reason as one line of text, not an HTML page.
    if (req.method == "BAN" || req.method == "PURGE") {
        set resp.http.Content-Type = "text/plain; charset=utf-8";
        set resp.body = resp.reason + {"
"};
        return (deliver);
    }
}
