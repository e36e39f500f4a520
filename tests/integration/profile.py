#!/usr/bin/python3
"""Reads a cxlmu allocation profile (libcxlmu(7), PROFILE FORMAT) for the
tests, independently of cxlmu-stat.

  profile.py check PROFILE BINARY EXPR...
      Each EXPR must hold. In them: P is the profile (a dict: the header
      keys, "modules" and "sites"); site("func") is the one site whose
      first frame lies in function func of BINARY (found with nm); sites
      of the same function (called from several places) are summed, but
      "threads" is the most any of them saw and "count" says how many.
  profile.py rule PROFILE BINARY FUNC TIER
      A rules-file line sending the site(s) of FUNC to TIER, all frames.
  profile.py names PROFILE BINARY
      One line per site whose first frame is in BINARY: its frames named
      by module file name, build-id and offset, sorted. Two runs of one
      binary must print the same lines.
"""
import os
import subprocess
import sys


def parse(path):
    p = {"modules": {}, "sites": {}}
    with open(path) as f:
        lines = f.read().split("\n")
    if not lines or lines[0] != "cxlmu-profile 1":
        raise SystemExit("%s: first line is %r, want 'cxlmu-profile 1'" % (path, lines[:1]))
    for n, line in enumerate(lines[1:], 2):
        if not line or line.startswith("#"):
            continue
        w = line.split(" ")
        key = w[0]
        if key == "module":
            p["modules"][int(w[1])] = {"build_id": None if w[2] == "-" else w[2],
                                       "path": " ".join(w[3:])}
        elif key == "site":
            s = p["sites"].setdefault(int(w[1]), {})
            kv = w[2:]
            for i in range(0, len(kv), 2):
                s[kv[i]] = int(kv[i + 1])
        elif key == "frames":
            fr = []
            for t in w[2:]:
                m, off = t.split("+0x")
                fr.append((int(m), int(off, 16)))
            p["sites"].setdefault(int(w[1]), {})["frames"] = fr
        elif key in ("sizes", "lifetimes"):
            p["sites"].setdefault(int(w[1]), {})[key] = [int(x) for x in w[2:]]
        elif key in ("size-buckets", "life-buckets"):
            p[key] = w[1:]
        elif key == "total":
            p["total"] = {w[1]: int(w[2]), w[3]: int(w[4])}
        elif key in ("program",):
            p[key] = " ".join(w[1:])
        else:
            p[key] = int(w[1]) if len(w) == 2 and w[1].isdigit() else w[1:]
    return p


def symbols(binary):
    out = subprocess.run(["nm", "-S", "--defined-only", binary], check=True,
                         capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        w = line.split()
        if len(w) == 4 and w[2] in "tT":
            syms[w[3]] = (int(w[0], 16), int(w[1], 16))
    return syms


def in_binary(p, mod, binary):
    path = p["modules"][mod]["path"]
    return os.path.realpath(path) == os.path.realpath(binary)


def site_of(p, binary, syms, func):
    start, size = syms[func]
    found = [s for s in p["sites"].values()
             if s.get("frames") and in_binary(p, s["frames"][0][0], binary)
             and start <= s["frames"][0][1] < start + size]
    if not found:
        raise KeyError("no site whose first frame is in %s" % func)
    total = {}
    for s in found:
        for k, v in s.items():
            if k == "threads":
                total[k] = max(total.get(k, 0), v)
            elif isinstance(v, int):
                total[k] = total.get(k, 0) + v
            elif k in ("sizes", "lifetimes"):
                total[k] = [a + b for a, b in zip(total.get(k, [0] * len(v)), v)]
    total["count"] = len(found)
    return total


def frame_names(p, s):
    names = []
    for m, off in s["frames"]:
        mod = p["modules"][m]
        names.append("%s@%s+0x%x" % (os.path.basename(mod["path"]), mod["build_id"], off))
    return names


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    cmd, path, binary = sys.argv[1:4]
    p = parse(path)
    syms = symbols(binary)
    if cmd == "names":
        lines = [" < ".join(frame_names(p, s)) for s in p["sites"].values()
                 if s.get("frames") and in_binary(p, s["frames"][0][0], binary)]
        print("\n".join(sorted(lines)))
        return
    if cmd == "rule":
        start, size = syms[sys.argv[4]]
        for s in p["sites"].values():
            m, off = s["frames"][0]
            if in_binary(p, m, binary) and start <= off < start + size:
                print(sys.argv[5] + " " + " ".join(frame_names(p, s)))
        return
    env = {"P": p, "site": lambda f: site_of(p, binary, syms, f)}
    bad = 0
    for expr in sys.argv[4:]:
        try:
            ok = eval(expr, env)
        except Exception as e:
            ok, why = False, "%s: %s" % (type(e).__name__, e)
        else:
            why = "false"
        if not ok:
            print("%s: %s is %s" % (path, expr, why), file=sys.stderr)
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
