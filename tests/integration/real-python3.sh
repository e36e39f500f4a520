#!/bin/sh
# Proves python3 (Debian's /usr/bin/python3) runs under each policy with output identical to a plain run: objects, json, re, hashlib, threads, sqlite3 module.
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_python3
same_as_plain python3 /usr/bin/python3 -c '
import hashlib, json, re, sqlite3, threading
d = {str(i): [i] * (i % 50) for i in range(20000)}
s = json.dumps(d, sort_keys=True)
print(len(s), hashlib.sha256(s.encode()).hexdigest())
print(sum(len(m) for m in re.findall(r"\[[0-9, ]{100,}\]", s)))
big = bytearray(8 << 20)
big[-1] = 7
print(sum(big[-10:]))
out = []
def work(k):
    out.append(sum(len(str(x)) for x in range(k * 10000)))
ts = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
[t.start() for t in ts]
[t.join() for t in ts]
print(sorted(out))
db = sqlite3.connect(":memory:")
db.execute("create table t(a, b)")
db.executemany("insert into t values (?, ?)", ((i, "x" * (i % 300)) for i in range(5000)))
print(db.execute("select count(*), sum(length(b)) from t").fetchone())
'
finish
