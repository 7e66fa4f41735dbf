#!/usr/bin/env python3
"""Records how the real Alertmanager 0.25 (Go 1.19 regexp) treats label-matcher regexes.

Starts a private, cluster-less `prometheus-alertmanager` on 127.0.0.11:21093, posts one alert
per interesting label value `v`, then asks `GET /api/v2/alerts?filter=v=~"<pattern>"` (and the
`!~` form) for every pattern below, and posts a silence with the pattern to record Go's
verdict on the unanchored pattern.  The answers become `regex_corpus.json`, which the Rust
test `goregex::corpus` replays against our translator.  Python 3 standard library only.

Usage: python3 record_regex_corpus.py [path/to/prometheus-alertmanager]
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HOST = "127.0.0.11"
PORT = 21093
BASE = f"http://{HOST}:{PORT}"
HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "regex_corpus.json")

# Label values chosen to separate ASCII from Unicode classes, case folding and line handling.
VALUES = [
    "abc", "ABC", "Abc", "a", "b", "aaa", "ab", "a b", "123", "0", "x1", "_",
    "\u0661\u0662\u0663",  # Arabic-Indic digits: \d is ASCII-only in Go
    "\u0663", "héllo", "hello", "HELLO", "é", "É", "\u00a0", "a\u00a0b", "\n", "a\nb",
    "ab\n", "\t", "a\tb", "\x0b", "\x0c", "\r", " ", "[", "]", "&", "a&b", "-", "~",
    "\\", '"', "foo.bar", "foo_bar", "k", "K", "\u212a", "s", "S", "\u017f", "straße",
    "STRASSE", "αβγ", "Ω", "σ", "ς", "Σ", "😀", "$", "^", "$1", "a.b", "\u2028",
    "日本", "\u200b", "{", "a{2}", "<", "ÿ", "\x00", "a,b", "x", "aa", "abcabc",
]

PATTERNS = [
    # only meaningful unanchored (silences): the matcher anchors hide these
    "a\\", "(?i", "x)", "(a", "[a-",
    # basics, anchors, dot
    "", "abc", "a", "a|b", "a*", "a+", "a?", ".*", ".+", ".", "..", "a.b", "(?s).*",
    "(?s)a.b", "(?s:.)", "(?-s:.)", "a$", "^a", "^a$", "a\\z", "\\Aa", "a\\Z", "(?m)a$",
    "(?m)^b", "(?m)a$\\n^b", "a^b", "^", "$", "a$|b", "(?m)^$", "\\Aabc\\z", "a|", "|",
    "(|a)", "()", "(a)(b)(c)", "a*?", "a+?", "a??", "a{2}?", "(?U)a+", "(?U)a+?",
    # Perl classes, inside and outside brackets
    "\\d", "\\d+", "\\D", "\\D+", "[\\d]+", "[\\D]", "[^\\d]+", "[\\d_]+", "\\w+", "\\W",
    "\\W+", "[\\w]+", "[\\W]", "[^\\W]+", "\\s", "\\s+", "[\\s]", "\\S+", "[\\S]+", "[^\\s]",
    "a\\sb", "a\\Sb", "a\\b.*", ".*\\b.*", "\\b", "\\B", "a\\Bb", "h\\B.*", "[\\s\\d]+",
    ".*\\bb", "\\w\\b.\\b\\w", "[\\b]", "[\\B]",
    # POSIX classes
    "[[:alpha:]]+", "[[:digit:]]+", "[[:^alpha:]]+", "[[:space:]]", "[[:word:]]+",
    "[[:upper:]]+", "[[:lower:]]+", "[[:punct:]]", "[[:alnum:]]+", "[[:print:]]",
    "[[:graph:]]", "[[:cntrl:]]", "[[:xdigit:]]+", "[[:blank:]]", "[[:ascii:]]+",
    "[[:foo:]]", "[:alpha:]", "[[:alpha:]x]", "(?i)[[:upper:]]+", "[^[:alpha:]]",
    # Unicode properties
    "\\pL+", "\\pN+", "\\p{L}+", "\\p{Greek}+", "\\p{Latin}+", "\\p{Emoji}", "\\PL+",
    "\\p{^Greek}+", "\\P{^Greek}+", "\\p{Han}+", "\\p{Lu}", "\\p{Nd}+", "\\p{Zs}",
    "\\p{Any}", "\\p{Foo}", "[\\p{Greek}\\d]+", "\\p{Cc}", "\\pZ", "\\p{Common}",
    "\\p{Arabic}+", "\\p{greek}", "\\p{Letter}", "\\p{Cf}", "\\p{Zl}", "[^\\pL]",
    "[\\PL]", "\\p{L", "\\pX", "(?i)\\p{Lu}",
    # brackets: literal [ && -- ~~, ranges, errors
    "[[]", "[]]", "[]a]", "[^]]", "[a&&b]", "[a--b]", "[a~~b]", "[&]", "[-]", "[a-]",
    "[\\[]", "[[a]]", "[a-c&&b]", "[]", "[^]", "[z-a]", "[a-\\d]", "[\\Q]\\E]", "[a",
    "[^a]", "[^\\n]", "[a-z]+", "[A-Z]+", "(?i)[a-z]+", "(?i)[k]", "(?i)[^k]",
    "[^\\x00-\\x7f]+", "[\\x{80}-\\x{10FFFF}]+", "[\\z]", "[\\A]", "[.]", "[$^]",
    "[\\-]", "[\\]]", "[\\^]", "[\\\\]", "[---]", "[a-a]", "[\\d-z]", "[%--]",
    # \Q...\E
    "\\Qa.b\\E", "\\Qa.b", "\\Q[\\E", "\\Q\\E", "x\\Q\\E*", "\\Q$1\\E", "\\Qa\\E+",
    "\\Q\\\\E", "a\\Q|\\Eb",
    # octal, hex and escapes
    "\\141", "\\0", "\\08", "\\1", "\\101BC", "\\12", "\\x61", "\\x{61}", "\\x{10FFFF}",
    "\\x{110000}", "\\xff", "\\xG", "\\x{}", "\\x6", "\\u0061", "\\e", "\\a", "\\v",
    "\\t", "\\n", "a\\nb", "\\C", "\\z", "\\<", "\\>", "\\%", "\\-", "\\_", "\\é",
    "\\ ", "\\x{D800}", "[\\x{D7FF}-\\x{E000}]", "\\x{1F600}", "\\8", "\\.", "\\$",
    "\\^", "\\\\", "\\[", "\\]", "\\{", "\\}", "\\(", "\\)", "\\|", "\\*", "\\+", "\\?",
    "\\/", "\\#", "\\&", "\\~", '\\"', "\\'", "\\`", "\\!", "\\@", "\\:", "\\=", "\\,",
    "\\f", "\\r", "\\v+", "\\K", "\\G", "\\X", "\\R", "\\h", "\\N", "\\y", "\\",
    # repetition
    "a{2}", "a{1000}", "a{1001}", "a{2,1000}", "a{2,1001}", "a{1000,}", "a{1001,}",
    "a{,2}", "a{2", "a{x}", "{", "a{}", "a{0}", "a{0,0}", "a{3,2}", "(a{500}){3}",
    "((a{100}){100}){100}", "a**", "a+*", "*", "a|*", "x{2}{3}", "a{1,2}{3}", "(?:a*)*",
    "(a*)+", "a{01}", "{2}", "x{1}?", "a*+", "a???",
    # groups and flags
    "(", ")", "(?:a)", "(?i)abc", "(?i)k", "(?i)s", "(?i)straße", "(?i)é", "(?i:A)bc",
    "(?i)(?-i)a", "(?i-s).", "(?x)a b", "(?u)a", "(?R)a", "(?P<n>a)", "(?<n>a)",
    "(?P<n>a)(?P<n>b)", "(?P<1>a)", "(?P<>a)", "(?P=n)", "(?i)", "(?", "(?:", "(?#c)",
    "(?=a)", "(?!a)", "(?<=a)", "(?i)σ", "(?i)Σ", "(?i)ς", "(?ims)a", "(?-)a", "(?i-)a",
    "(?i:)", "(?m-m)a", "(?im-sU:a)", "(?P<n-x>a)", "(?P<n>", "(?P<é>a)", "(?s-i:A)",
    "(?i)ÿ", "(?i)\\x{212A}", "(?a)x", "(?U)", "((((((a))))))",
    # second round: tables, surrogates, nested counts, flag placement, limits
    "\\p{LC}", "\\p{Cn}", "\\p{Cs}", "\\p{Co}", "\\pC", "\\PC+", "\\p{Zp}", "\\p{Nl}",
    "\\p{Mn}", "\\p{^L}", "\\P{L}+", "\\p{}", "\\p", "\\p{Greek", "[\\p{Lu}\\p{Ll}]+",
    "(?i)\\W", "(?i)[\\W]", "(?i)\\w+", "(?i)[^k]+", "(?i)[^\\W]+", "(?i)[K]", "(?i)[^K]",
    "[\\x{D800}-\\x{DFFF}]", "[^\\x{D800}]", "[\\x{D800}]", "\\x{DFFF}a", "[^\\x00-\\x{10FFFF}]",
    "[^\\x00-\\x{10FFFF}]*", "(a{10}){100}", "(a{10}){101}", "(a{2}|b{600}){2}",
    "(a{0}b{500}){2}", "(a{0,}){2}", "(a*){2}", "((a{2}){2}){2}", "(a{1}){1000}",
    "(?:a{2}){501}", "(a{2,}){501}", "(a{0,2}){501}", "(a{1000}){0}", "(a{1000}){0,1}",
    "((a{1000}){0,1}){2}", "a{2}{0}", "x*{2}", "\\Q\\E*", "(?i)*", "a*(?s)*.", "a(?i)*",
    "a(?i)+b", "a(?s)*.", "^*", "$+", "\\b*", "(?:)*", "()+", "\\pL{1000}", ".{1000}",
    "a{,}", "a{1,2,3}", "a{ 1}", "a{1 }", "a{99999999}", "a{100000000}", "a{1,100000000}",
    "\\x{0}", "\\x{00000061}", "\\x{000000061}", "[\\x{61}-\\x{7A}]+", "[\\141-\\172]+",
    "[\\0-\\x{7f}]+", "\\01", "\\001", "\\0001", "[a-\\x{7A}]+", "[\\n-\\r]", "[[:alpha:]-z]+",
    "[a-b-c]+", "[^[:^alpha:]]+", "[[:alpha:][:digit:]]+", "[[:alpha:]", "[[:alpha]+",
    "[[:^^alpha:]]", "[^\\PL]+", "(?P<name>x)(?P<name2>y)", "(?P<a.b>x)", "(?P<n", "(?P>x)",
    "(?:(?i)a)b", "(?i)(?:a)", "\\q", "(?s)a.*b", "^$", "^^a$$", "\\A\\z", "a$b", "[\\n]",
    "[\\a-\\r]", "(?i:a|B)", "(?i)ǆ", "(?i)ß", "(?i)ẞ", "\\x{212A}", "(?i)[a-z]", "(?i)Ω",
    "(?i)ω", "a\\Q\\E{2}", "\\Qa\\E{2}", "(?m)$", "(?m)^", "(?m).$", "(?U)a{1,3}", "[\\x{0}]",
    "[^\\n]+", "[^a]+", "(?i)[^a-z]+", "[\\s\\S]", "[\\w\\W]+", "[^\\d\\D]", "[\\w-]+",
    "[-\\w]+", "[\\w-z]", "[a-z-]+",
] + [
    # group depth: Go limits the height of the parsed tree
    "(" * depth + "a" + ")" * depth for depth in (100, 497, 498, 499, 500, 501, 998, 999, 1000)
] + ["(?:" * 999 + "a" + ")" * 999, "(?:" * 1000 + "a" + ")" * 1000] + [
    # program-size limit (Go estimates the compiled size: about 3.3M instructions)
    "(?:" + "a" * 3356 + "){1000}", "(" + "a" * 3354 + "){1000}",
    "(?:" + "a" * 3354 + "|b){1000}", "(?:(?:" + "a" * 3354 + ")*){1000}",
    "(?:" + "a" * 300 + "){1000}", "(?:" + "a" * 1700 + "){1000}" + "(?:" + "a" * 1700 + "){1000}",
    "(?:" + "a" * 1700 + "){1000}|(?:" + "a" * 1700 + "){1000}",
]

CONFIG = """route:
  receiver: blackhole
receivers:
  - name: blackhole
"""


def request(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def wait_ready(proc):
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"alertmanager exited early with status {proc.returncode}")
        try:
            if request("GET", "/-/ready")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit("alertmanager did not become ready")


def filter_quote(pattern):
    # ParseMatcher unescapes \\ \" \n inside quotes; escape exactly those so the
    # server sees `pattern` byte for byte.
    escaped = pattern.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def query(op, pattern):
    matcher = f"v{op}{filter_quote(pattern)}"
    qs = urllib.parse.urlencode([("filter", matcher)])
    status, body = request("GET", "/api/v2/alerts?" + qs)
    if status != 200:
        return None, body.strip()
    ids = sorted(int(a["labels"]["id"]) for a in json.loads(body))
    return ids, None


def post_alerts():
    now = datetime.datetime.now(datetime.timezone.utc)
    ends = now + datetime.timedelta(hours=6)
    alerts = [{
        "labels": {"alertname": "corpus", "id": str(i), "v": value},
        "startsAt": now.isoformat(), "endsAt": ends.isoformat(),
    } for i, value in enumerate(VALUES)]
    status, body = request("POST", "/api/v2/alerts", alerts)
    if status != 200:
        sys.exit(f"posting alerts failed: {status} {body}")
    ids, err = query("=~", "(?s).*")
    if err or ids != list(range(len(VALUES))):
        sys.exit(f"alerts not all stored: {ids} {err}")


def post_silence(pattern):
    """Silences compile patterns unanchored (`regexp.Compile(pattern)` in validateMatcher),
    so this records Go's verdict and message without the matcher anchors."""
    now = datetime.datetime.now(datetime.timezone.utc)
    silence = {
        "matchers": [
            {"name": "v", "value": pattern, "isRegex": True, "isEqual": True},
            # A matcher that cannot match "" keeps the empty-match rule out of the way.
            {"name": "id", "value": "none", "isRegex": False, "isEqual": True},
        ],
        "startsAt": now.isoformat(),
        "endsAt": (now + datetime.timedelta(hours=1)).isoformat(),
        "createdBy": "corpus", "comment": "corpus",
    }
    status, body = request("POST", "/api/v2/silences", silence)
    if status == 200:
        return None
    return json.loads(body)


def record():
    patterns = []
    for pattern in PATTERNS:
        matched, err = query("=~", pattern)
        entry = {"pattern": pattern, "accepted": err is None}
        silence_error = post_silence(pattern)
        entry["unanchored_accepted"] = silence_error is None
        if silence_error is not None:
            entry["unanchored_error"] = silence_error
        if err is None:
            not_matched, err2 = query("!~", pattern)
            if err2 is not None:
                sys.exit(f"!~ rejected {pattern!r} while =~ accepted it: {err2}")
            entry["matches"] = matched
            entry["not_matches"] = not_matched
        else:
            entry["error"] = err
        patterns.append(entry)
    return patterns


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/prometheus-alertmanager"
    if len(set(PATTERNS)) != len(PATTERNS):
        sys.exit("duplicate patterns")
    tmp = tempfile.mkdtemp(prefix="am-regex-corpus-")
    config = os.path.join(tmp, "alertmanager.yml")
    with open(config, "w") as f:
        f.write(CONFIG)
    proc = subprocess.Popen([
        binary, f"--config.file={config}", f"--storage.path={tmp}/data",
        f"--web.listen-address={HOST}:{PORT}", "--cluster.listen-address=",
        "--log.level=warn",
    ], stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "am.log"), "w"))
    try:
        wait_ready(proc)
        version = subprocess.run([binary, "--version"], capture_output=True, text=True)
        post_alerts()
        corpus = {
            "recorded_with": (version.stdout or version.stderr).splitlines()[0],
            "values": VALUES,
            "patterns": record(),
        }
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    with open(OUTPUT, "w") as f:
        # One pattern per line keeps re-recordings reviewable as diffs.
        f.write("{\n")
        f.write(f' "recorded_with": {json.dumps(corpus["recorded_with"])},\n')
        f.write(f' "values": {json.dumps(corpus["values"], ensure_ascii=False)},\n')
        f.write(' "patterns": [\n')
        lines = [json.dumps(p, ensure_ascii=False) for p in corpus["patterns"]]
        f.write(",\n".join("  " + line for line in lines))
        f.write("\n ]\n}\n")
    accepted = sum(p["accepted"] for p in corpus["patterns"])
    print(f"wrote {OUTPUT}: {len(VALUES)} values, {len(PATTERNS)} patterns, {accepted} accepted")


if __name__ == "__main__":
    main()
