#!/usr/bin/env python3
"""Sends hostile requests to a running Guichet and checks that it survives them (issue 12).

Each shape an outsider can send anonymously — fragment cycles and fan-out, thousands of
aliases, huge texts, deep nesting, odd cursors, NUL characters, bodies that are not GraphQL,
oversized and trickled bodies, connections that never finish their headers — must be answered
with a 4xx or a GraphQL error (or, for a valid search with too many words, a normal answer),
never a 5xx or a dropped connection; `/healthz` must keep answering while they run; the
process must stay up; and its peak resident memory (VmHWM, read from /proc) must stay under a
ceiling. The server is expected to run under an address-space limit (`prlimit --as`, see
scripts/test), so a request that tried to allocate gigabytes would kill it.

Environment:
  GUICHET_URL         the server, e.g. http://127.0.0.1:8080 (required)
  GUICHET_PID         its process id, to read its memory and check it is alive (required)
  GUICHET_RSS_LIMIT   peak resident memory allowed, MiB (default 400)
  GUICHET_SLOW_CLIENT_SECONDS  how long a connection that trickles its headers may stay open
                      (default 40: the server's header-read timeout plus a margin)

Standard library only. Last line: `hostile: N passed, M failed`.
"""

import concurrent.futures
import http.client
import json
import os
import socket
import sys
import time
import urllib.parse

URL = urllib.parse.urlparse(os.environ["GUICHET_URL"])
HOST, PORT = URL.hostname, URL.port or 80
PID = int(os.environ["GUICHET_PID"])
RSS_LIMIT_MIB = int(os.environ.get("GUICHET_RSS_LIMIT", "400"))
SLOW_CLIENT_SECONDS = float(os.environ.get("GUICHET_SLOW_CLIENT_SECONDS", "40"))
TIMEOUT = 60

results = []


def record(name, ok, detail=""):
    results.append((name, ok))
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}", flush=True)


def request(method, path, body=None, headers=None):
    """One request on a fresh connection: (status, headers, body bytes), or an exception."""
    conn = http.client.HTTPConnection(HOST, PORT, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def graphql_post(query, variables=None, accept="application/json"):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    return request("POST", "/graphql", body, {"content-type": "application/json", "accept": accept})


def graphql_get(query):
    path = "/graphql?" + urllib.parse.urlencode({"query": query})
    return request("GET", path, headers={"accept": "application/json"})


def refused_well(status, body, allow_data=False):
    """A 4xx, or a GraphQL answer whose errors all carry a code and no INTERNAL."""
    if status >= 500:
        return False, f"HTTP {status}: {body[:300]!r}"
    if 400 <= status < 500 and status not in (400,):
        return True, ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return (400 <= status < 500), f"HTTP {status}, not JSON: {body[:200]!r}"
    errors = parsed.get("errors") or []
    codes = [((e.get("extensions") or {}).get("code")) for e in errors]
    if "INTERNAL" in codes or None in codes:
        return False, f"codes {codes}: {body[:300]!r}"
    if not errors and not allow_data:
        return False, f"no error: {body[:300]!r}"
    return True, ""


def case(name, send, allow_data=False):
    try:
        status, _, body = send()
    except Exception as error:  # a dropped connection, a timeout
        record(name, False, f"{type(error).__name__}: {error}")
        return
    ok, detail = refused_well(status, body, allow_data)
    record(name, ok, detail)


def fan_out(levels):
    parts = ["query { ...F0 }"]
    parts += [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    parts.append(f"fragment F{levels} on Query {{ __typename }}")
    return "\n".join(parts)


def aliases(n, field):
    return "{ " + " ".join(f"a{i}: {field}" for i in range(n)) + " }"


WORDS = "café épicerie commerce multiple rural tiers lieu crèche santé mobilité".split()


def words(n):
    return " ".join(WORDS[i % len(WORDS)] + str(i) for i in range(n))


def healthy():
    status, _, _ = request("GET", "/healthz")
    return status == 200


def alive():
    try:
        os.kill(PID, 0)
        return True
    except OSError:
        return False


def peak_rss_mib():
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return -1


def main():
    project = '{ holderType: COMMUNE, communeCode: "52448" }'
    shapes = [
        ("fragment cycle (POST)", lambda: graphql_post("{ ...A } fragment A on Query { ...A }")),
        ("fragment cycle (GET)", lambda: graphql_get("{ ...A } fragment A on Query { ...A }")),
        ("indirect fragment cycle",
         lambda: graphql_post("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }")),
        ("fragment fan-out, 24 levels", lambda: graphql_post(fan_out(24))),
        ("fragment fan-out, 60 levels", lambda: graphql_post(fan_out(60))),
        ("150 aliases of nested pages",
         lambda: graphql_post(aliases(150, "schemes(first: 100) { nodes { funders { schemes(first: 100) { nodes { slug title } } } } }"))),
        ("2,400 aliases of matchProject",
         lambda: graphql_post(aliases(2400, f"matchProject(project: {project}) {{ eligibleCount }}"))),
        ("5,000 aliases of __typename", lambda: graphql_post(aliases(5000, "__typename"))),
        ("deep selection nesting", lambda: graphql_post("{ a " * 5000 + "}" * 5000)),
        ("deep list value", lambda: graphql_post("{ scheme(slug: " + "[" * 20000 + "]" * 20000 + ") { slug } }")),
        ("deep variables", lambda: request(
            "POST", "/graphql",
            b'{"query":"{ __typename }","variables":{"v":' + b"[" * 50000 + b"]" * 50000 + b"}}",
            {"content-type": "application/json"})),
        ("huge first", lambda: graphql_post("{ schemes(first: 2147483647) { total } }")),
        ("negative first", lambda: graphql_post("{ schemes(first: -1) { total } }")),
        ("NUL in a literal", lambda: graphql_post('{ scheme(slug: "a\\u0000b") { slug } }')),
        ("NUL in a variable", lambda: graphql_post("query($s: String!) { scheme(slug: $s) { slug } }", {"s": "a\u0000b"})),
        ("body that is not JSON", lambda: request("POST", "/graphql", b"{not json", {"content-type": "application/json"})),
        ("batch body", lambda: request("POST", "/graphql", b'[{"query":"{ __typename }"}]', {"content-type": "application/json"})),
        ("query of the wrong type", lambda: request("POST", "/graphql", b'{"query": 42}', {"content-type": "application/json"})),
        ("broken multipart", lambda: request("POST", "/graphql", b"--X\r\nnothing", {"content-type": "multipart/form-data; boundary=X"})),
        ("wrong content type", lambda: request("POST", "/graphql", b"{ __typename }", {"content-type": "text/plain"})),
        ("oversized JSON body", lambda: graphql_post("{ __typename }", {"pad": "x" * (300 * 1024)})),
    ]
    for cursor in ["o9223372036854775808", "o18446744073709551616", "o-1", "x", "o" + "9" * 5000, "\u0000"]:
        c = json.dumps(cursor)
        shapes += [
            (f"cursor {cursor[:24]!r} on schemes", lambda c=c: graphql_post(f"{{ schemes(after: {c}) {{ total }} }}")),
            (f"cursor {cursor[:24]!r} on searchSchemes", lambda c=c: graphql_post(f"{{ searchSchemes(after: {c}) {{ total }} }}")),
            (f"cursor {cursor[:24]!r} on dossiers", lambda c=c: graphql_post(f"{{ dossiers(after: {c}) {{ total }} }}")),
            (f"cursor {cursor[:24]!r} on conferences", lambda c=c: graphql_post(f"{{ conferences(after: {c}) {{ nodes {{ id }} }} }}")),
            (f"cursor {cursor[:24]!r} on funder.schemes",
             lambda c=c: graphql_post(f"{{ funders {{ schemes(first: 1, after: {c}) {{ total }} }} }}")),
        ]
    for name, send in shapes:
        case(name, send)

    # Texts: any string stays a valid search; the extra words are ignored, not an error.
    texts = [
        ("searchSchemes, 3,000 words", lambda: graphql_post(
            "query($t: String) { searchSchemes(text: $t) { total hits { scheme { slug } } } }", {"t": words(3000)})),
        ("searchSchemes, 200 KB of one word", lambda: graphql_post(
            "query($t: String) { searchSchemes(text: $t) { total } }", {"t": "é" * 100_000})),
        ("matchProject, 3,000 words", lambda: graphql_post(
            "query($t: String) { matchProject(project: { holderType: COMMUNE, communeCode: \"52448\", text: $t }) { eligibleCount } }",
            {"t": words(3000)})),
        ("territories, 200 KB", lambda: graphql_post(
            "query($q: String!) { territories(query: $q) { code } }", {"q": "a" * 200_000})),
    ]
    for name, send in texts:
        case(name, send, allow_data=True)

    # The costliest shapes four at a time, while /healthz must keep answering.
    heavy = [
        lambda: graphql_post(fan_out(24)),
        lambda: graphql_post("query($t: String) { searchSchemes(text: $t) { total } }", {"t": words(3000)}),
    ] * 2
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(send) for send in heavy]
        health = pool.submit(healthy)
        try:
            record("/healthz answers during four heavy requests", health.result(timeout=15))
        except Exception as error:
            record("/healthz answers during four heavy requests", False, repr(error))
        for future in futures:
            try:
                status, _, body = future.result(timeout=TIMEOUT)
                ok, detail = refused_well(status, body, allow_data=True)
            except Exception as error:
                ok, detail = False, repr(error)
            record("heavy request answered", ok, detail)

    slow_clients()

    record("the server process is alive", alive())
    record("/healthz answers at the end", healthy())
    peak = peak_rss_mib()
    record(f"peak RSS {peak} MiB ≤ {RSS_LIMIT_MIB} MiB", 0 < peak <= RSS_LIMIT_MIB,
           f"peak RSS {peak} MiB")

    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"hostile: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def slow_clients():
    """Connections that trickle their headers, or a body, are closed by the server in time,
    and other clients are served meanwhile."""
    sockets = []
    for i in range(20):
        s = socket.create_connection((HOST, PORT), timeout=5)
        if i % 2 == 0:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        else:
            s.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100000\r\n\r\n{\"query\":")
        sockets.append(s)
    record("/healthz answers while 20 clients trickle", healthy())
    deadline = time.monotonic() + SLOW_CLIENT_SECONDS
    open_sockets = list(sockets)
    while open_sockets and time.monotonic() < deadline:
        still = []
        for s in open_sockets:
            try:
                s.sendall(b"a")
                s.settimeout(0.05)
                data = s.recv(4096)
                if data == b"":
                    s.close()
                    continue
                # An answer (408, 400…) followed by a close also counts once the close comes.
                still.append(s)
            except socket.timeout:
                still.append(s)
            except OSError:
                s.close()
        open_sockets = still
        time.sleep(1)
    record(f"trickling connections closed by the server within {SLOW_CLIENT_SECONDS:.0f} s",
           not open_sockets, f"{len(open_sockets)} still open")
    for s in open_sockets:
        s.close()


if __name__ == "__main__":
    sys.exit(main())
