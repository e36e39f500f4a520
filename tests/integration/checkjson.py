# Checks a cxlmu stats JSON report: python3 checkjson.py FILE EXPR...
# Each EXPR is evaluated with r (the report), n0 (node 0's entry), w
# (the "wait" object, {} when absent), s (the "sched" object, {} when
# absent) and rm (the "remote" object, {} when absent) and must be true. Exit 0 when all hold, 1 otherwise, naming the first false.
import json
import sys

KEYS = ["version", "policy", "policy_asked", "strict", "mmap", "cxl_nodes",
        "nodes", "placement", "fallbacks", "bind_errors"]
NODE_KEYS = ["node", "cxl", "bytes_live", "bytes_peak", "bytes_total",
             "allocations", "frees"]
PLACEMENT_KEYS = ["sampled", "as_meant", "elsewhere", "not_resident",
                  "not_reported", "pages_by_node"]
WAIT_KEYS = ["sched", "path", "sleeps", "yields", "polls", "early_wakeups",
             "wakeups_sent", "asked_ns", "slept_ns", "threads", "fibers",
             "fiber_cpus", "fiber_switches", "handoffs"]
SCHED_KEYS = ["mode", "fibers_on", "fiber_wait", "as_fiber", "as_kernel", "why", "threads",
              "threads_unlisted"]
SCHED_THREAD_KEYS = ["tid", "as", "cpu", "why"]
REMOTE_KEYS = ["functions", "refused", "agents", "calls", "inflight_max", "busy_ns",
               "flight_ns", "agent_ns", "wait_ns", "idle_ns", "in_flight_mean", "overlap",
               "by_function"]
REMOTE_FN_KEYS = ["name", "calls", "local", "agent_ns", "wait_ns", "switched"]

text = open(sys.argv[1]).read()
try:
    r = json.loads(text)
except ValueError as e:
    sys.exit("not one JSON object (%s): %r" % (e, text[:300]))
missing = [k for k in KEYS if k not in r]
missing += ["nodes[].%s" % k for n in r.get("nodes", []) for k in NODE_KEYS if k not in n]
missing += ["placement.%s" % k for k in PLACEMENT_KEYS if k not in r.get("placement", {})]
if "wait" in r:
    missing += ["wait.%s" % k for k in WAIT_KEYS if k not in r["wait"]]
if "sched" in r:
    missing += ["sched.%s" % k for k in SCHED_KEYS if k not in r["sched"]]
    missing += ["sched.threads[].%s" % k for t in r["sched"].get("threads", [])
                for k in SCHED_THREAD_KEYS if k not in t]
if "remote" in r:
    missing += ["remote.%s" % k for k in REMOTE_KEYS if k not in r["remote"]]
    missing += ["remote.by_function[].%s" % k for f in r["remote"].get("by_function", [])
                for k in REMOTE_FN_KEYS if k not in f]
if missing:
    sys.exit("report lacks %s: %s" % (", ".join(sorted(set(missing))), text[:300]))
n0 = next((n for n in r["nodes"] if n["node"] == 0), None)
for expr in sys.argv[2:]:
    if not eval(expr, {"r": r, "n0": n0, "w": r.get("wait", {}), "s": r.get("sched", {}),
                       "rm": r.get("remote", {}), "MiB": 1 << 20}):
        sys.exit("false: %s\nreport: %s" % (expr, text.strip()))
