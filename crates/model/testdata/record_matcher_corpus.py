#!/usr/bin/env python3
"""Records how the real Alertmanager 0.25 parses, sorts and prints matcher lists.

For each input string, writes a config whose only child route has `matchers: [<input>]`
(parsed by `labels.ParseMatchers`, then sorted), and runs
`amtool config routes show --config.file=...`, which prints the route's matchers with
`labels.Matchers.String()`; rejected inputs are run through `amtool check-config` to capture
Go's error message. Output: `matcher_corpus.json`, replayed by the Rust test
`matcher::tests::corpus`. Python 3 standard library only.

Usage: python3 record_matcher_corpus.py [path/to/amtool]
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "matcher_corpus.json")

INPUTS = [
    "a=b", '{a="b",c=~"d.*"}', "a=b, c!=d", "a=b,", "a=b, ", "a=b, ,c=d", "a=b,,c=d",
    '{ a = "b" , c =~ "d.*" , }', '{foo = "bar", dings != "bums", }', "foo=bar,dings!=bums",
    '{quote="She said: \\"Hi, ladies! That\'s gender-neutral…\\""}', 'statuscode=~"5.."',
    "{}", "{", "}", "", " ", "a=", 'a=""', 'a="b', 'a=b"', 'a="b"c"', 'a="b\\\\"', "1a=b",
    "a:b=c", ":a=b", "a-b=c", 'a =~ "["', 'a=~"("', "a", "=b", "a==b", "a=~b{2}",
    'a!~"x",b="y",}', 'a="x,y",b=z', 'a="l1\\nl2"', 'a="\\d+"', "a=b\\", "a=  padded \t",
    'a=" kept "', "a=héllo wörld", "a\u00a0=b", "a=b\u00a0", "\ta\t=\tb\t", "a\n=\nb",
    "a=b\nc", 'a="tab\there"', 'a="\\\\n"', 'a="\\"', 'a="\\"\\""', 'a=\\"', "a!b",
    "a=~x{1001}", "a!~\\", "a=~\\Q(\\E", "b=2,a=1,a=1,a!=1,a=~1,a!~1", "z=1,a=2",
    "{{a=b}}", "{a=b", "a=b}", "a=b}}", "a={b}", 'a="{b}"', "a=b,c", '"a"=b', "a='b'",
    "a=`b`", "a=~.*,b!~^x$", "a=\u00e9\u0301", 'a="\\u00e9"', "_=x", "A_1:b=c",
    'a="1,2",b="3\\",4"', 'a="x\\\\",b="y"', "a=\\\\", "a=x\\y", "a=~[[:alpha:]]+",
]

CONFIG = """route:
  receiver: x
  routes:
  - receiver: x
    matchers:
    - {matcher}
receivers:
- name: x
"""


def run(args):
    proc = subprocess.run(args, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def record(amtool, path, text):
    with open(path, "w") as f:
        # A JSON string is a valid YAML double-quoted scalar, so the input arrives verbatim.
        f.write(CONFIG.format(matcher=json.dumps(text, ensure_ascii=False)))
    code, out = run([amtool, "config", "routes", "show", f"--config.file={path}"])
    if code == 0:
        # The child route is the only line indented under the root route; a route without
        # matchers prints as "default-route".
        for line in out.splitlines():
            if line.startswith("    ") and "── " in line:
                rendered = line.split("── ", 1)[1].rsplit("  receiver: x", 1)[0]
                return {"input": text, "accepted": True, "rendered": rendered}
        sys.exit(f"no route line for {text!r}: {out}")
    code, out = run([amtool, "check-config", path])
    if code == 0:
        sys.exit(f"routes show failed but check-config passed for {text!r}: {out}")
    start = out.index("FAILED: ") + len("FAILED: ")
    end = out.index("\namtool: error:", start)
    # amtool prints a blank line after the message.
    message = out[start:end]
    message = message[:-1] if message.endswith("\n") else message
    return {"input": text, "accepted": False, "error": message}


def main():
    amtool = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/amtool"
    if shutil.which(amtool) is None and not os.path.exists(amtool):
        sys.exit(f"{amtool} not found")
    if len(set(INPUTS)) != len(INPUTS):
        sys.exit("duplicate inputs")
    tmp = tempfile.mkdtemp(prefix="am-matcher-corpus-")
    try:
        path = os.path.join(tmp, "config.yml")
        entries = [record(amtool, path, text) for text in INPUTS]
        version = run([amtool, "--version"])[1].splitlines()[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(OUTPUT, "w") as f:
        json.dump({"recorded_with": version, "cases": entries}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    accepted = sum(e["accepted"] for e in entries)
    print(f"wrote {OUTPUT}: {len(entries)} inputs, {accepted} accepted")


if __name__ == "__main__":
    main()
