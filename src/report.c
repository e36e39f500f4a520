/* The report of --stats and cxlmu_stats_write(3): the counters of
 * src/stats.c, the move_pages check of where sampled pages really are,
 * and what the waits, the scheduler and the remote agents counted, as text
 * or JSON. Above them all in the layers: it reads every module, none reads
 * it. Formatted into a static buffer and written with write(2). */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "heap.h"
#include "log.h"
#include "prim.h"
#include "remote.h"
#include "report.h"
#include "scheduler.h"
#include "stats.h"
#include "wait.h"

/* ----------------------------------------------------------------------- */
/* The placement check                                                       */
/* ----------------------------------------------------------------------- */

struct placement {
	/* not_resident: -ENOENT (freed and given back, or never touched);
	 * not_reported: the kernel gave no node (-EFAULT, which 6.1-6.4 give
	 * for present pages that NUMA balancing made PROT_NONE; any other
	 * error; or move_pages refused altogether). */
	unsigned sampled, as_meant, elsewhere, not_resident, not_reported;
	unsigned by_node[CXLMU_MAX_NODES];
};

static void check_placement(struct placement *pl)
{
	static void *pages[CXLMU_STATS_SAMPLE_SLOTS];
	static cxlmu_nodemask_t meant[CXLMU_STATS_SAMPLE_SLOTS];
	static int status[CXLMU_STATS_SAMPLE_SLOTS];
	uintptr_t mask = ~(uintptr_t)(cxlmu_prim_page_size() - 1);
	size_t n = 0;

	static uintptr_t addr[CXLMU_STATS_SAMPLE_SLOTS];

	memset(pl, 0, sizeof(*pl));
	n = cxlmu_stats_samples(addr, meant);
	for (size_t i = 0; i < n; i++)
		pages[i] = (void *)(addr[i] & mask);
	if (!n || cxlmu_prim_page_nodes(n, pages, status)) {
		pl->sampled = (unsigned)n;
		pl->not_reported = (unsigned)n;
		return;
	}
	pl->sampled = (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		int s = status[i];
		if (s == -ENOENT) {
			pl->not_resident++;
			continue;
		}
		if (s < 0 || s >= CXLMU_MAX_NODES) {
			pl->not_reported++;
			continue;
		}
		pl->by_node[s]++;
		if (meant[i] & (1ull << s))
			pl->as_meant++;
		else
			pl->elsewhere++;
	}
}

/* ----------------------------------------------------------------------- */
/* Report writer: a static buffer, flushed to fd as it fills                 */
/* ----------------------------------------------------------------------- */

static struct {
	int fd;
	int err;            /* the first write's failure: nothing more is tried */
	size_t len;
	char buf[16384];
} out;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (out.len > sizeof(out.buf) - 1024) {
		if (!out.err)
			out.err = cxlmu_write_all(out.fd, out.buf, out.len);
		out.len = 0;
	}
	va_start(ap, fmt);
	n = vsnprintf(out.buf + out.len, sizeof(out.buf) - out.len, fmt, ap);
	va_end(ap);
	if (n > 0)
		out.len += (size_t)n < sizeof(out.buf) - out.len ? (size_t)n : sizeof(out.buf) - out.len - 1;
}

static const char *const tier_names[] = { "dram", "cxl", "interleave" };

static void report_wait_text(void)
{
	struct cxlmu_sched_totals s;
	struct cxlmu_wait_totals w;

	cxlmu_wait_totals(&w);
	emit("cxlmu: wait: sched %s, path %s, %llu threads; %llu sleeps (%llu polls, "
	     "%llu ended early by a wake-up), %llu yields, %llu wake-ups sent\n",
	     cxlmu_wait_sched_name(), cxlmu_wait_path_name(), (unsigned long long)w.threads,
	     (unsigned long long)w.sleeps, (unsigned long long)w.polls,
	     (unsigned long long)w.early, (unsigned long long)w.yields,
	     (unsigned long long)w.wakeups);
	emit("cxlmu: wait: slept %.3f ms of %.3f ms asked\n",
	     (double)w.slept_ns / 1e6, (double)w.asked_ns / 1e6);
	cxlmu_sched_totals(&s);
	if (s.fibers)
		emit("cxlmu: wait: %llu threads ran as fibers on %llu CPUs; %llu switches, "
		     "%llu hand-offs to another host\n", (unsigned long long)s.fibers,
		     (unsigned long long)s.cores, (unsigned long long)s.switches,
		     (unsigned long long)s.handoffs);
}

/* Which threads ran as fibers and which as kernel threads, and why. */
static void report_sched_text(void)
{
	struct cxlmu_sched_thread th[CXLMU_SCHED_RECORDS];
	uint64_t counts[CXLMU_WHY_COUNT], as[2] = { 0, 0 };
	const char *off = cxlmu_sched_off_why();
	size_t n;

	if (off && !strcmp(off, "mode"))
		return;
	emit("cxlmu: sched %s: ", cxlmu_wait_sched_name());
	if (off) {
		emit("fibers off (%s): every thread is a kernel thread\n", off);
		return;
	}
	n = cxlmu_sched_threads(th, CXLMU_ARRAY_SIZE(th), counts);
	for (int w = 0; w < CXLMU_WHY_COUNT; w++)
		as[!CXLMU_WHY_FIBER(w)] += counts[w];
	emit("fibers wait with %s; ", cxlmu_sched_fiber_wait_name());
	for (int k = 0; k < 2; k++) {
		const char *sep = " (";
		emit("%s%llu %s", k ? "; " : "", (unsigned long long)as[k],
		     k ? "kernel threads" : "fibers");
		for (int w = 0; w < CXLMU_WHY_COUNT; w++)
			if (counts[w] && (int)!CXLMU_WHY_FIBER(w) == k) {
				emit("%s%s %llu", sep, cxlmu_sched_why_names[w],
				     (unsigned long long)counts[w]);
				sep = ", ";
			}
		if (*sep == ',')
			emit(")");
	}
	emit("\n");
	for (size_t i = 0; i < n && i < 32; i++) {
		emit("cxlmu: thread %d: %s", (int)th[i].tid,
		     CXLMU_WHY_FIBER(th[i].why) ? "fiber" : "kernel thread");
		if (th[i].cpu >= 0)
			emit(", CPU %d", th[i].cpu);
		emit(" (%s)\n", cxlmu_sched_why_names[th[i].why]);
	}
	if (n > 32)
		emit("cxlmu: ... %zu more threads in the JSON report\n", n - 32);
}

static void report_sched_json(void)
{
	struct cxlmu_sched_thread th[CXLMU_SCHED_RECORDS];
	uint64_t counts[CXLMU_WHY_COUNT], as[2] = { 0, 0 };
	const char *off = cxlmu_sched_off_why();
	const char *sep = "";
	size_t n = 0;

	memset(counts, 0, sizeof(counts));
	if (!off)
		n = cxlmu_sched_threads(th, CXLMU_ARRAY_SIZE(th), counts);
	for (int w = 0; w < CXLMU_WHY_COUNT; w++)
		as[!CXLMU_WHY_FIBER(w)] += counts[w];
	emit(",\"sched\":{\"mode\":\"%s\",\"fibers_on\":%s,\"fiber_wait\":\"%s\",",
	     cxlmu_wait_sched_name(), off ? "false" : "true", cxlmu_sched_fiber_wait_name());
	if (off)
		emit("\"off_why\":\"%s\",", off);
	emit("\"as_fiber\":%llu,\"as_kernel\":%llu,\"why\":{",
	     (unsigned long long)as[0], (unsigned long long)as[1]);
	for (int w = 0; w < CXLMU_WHY_COUNT; w++) {
		emit("%s\"%s\":%llu", sep, cxlmu_sched_why_names[w], (unsigned long long)counts[w]);
		sep = ",";
	}
	emit("},\"threads\":[");
	sep = "";
	for (size_t i = 0; i < n; i++) {
		emit("%s{\"tid\":%d,\"as\":\"%s\",\"cpu\":%d,\"why\":\"%s\"}", sep,
		     (int)th[i].tid, CXLMU_WHY_FIBER(th[i].why) ? "fiber" : "kernel",
		     th[i].cpu, cxlmu_sched_why_names[th[i].why]);
		sep = ",";
	}
	emit("],\"threads_unlisted\":%llu}",
	     (unsigned long long)(as[0] + as[1] > n ? as[0] + as[1] - n : 0));
}

static void report_wait_json(void)
{
	struct cxlmu_sched_totals s;
	struct cxlmu_wait_totals w;

	cxlmu_wait_totals(&w);
	cxlmu_sched_totals(&s);
	emit("\"wait\":{\"sched\":\"%s\",\"path\":\"%s\",\"threads\":%llu,"
	     "\"sleeps\":%llu,\"yields\":%llu,\"polls\":%llu,\"early_wakeups\":%llu,"
	     "\"wakeups_sent\":%llu,\"asked_ns\":%llu,\"slept_ns\":%llu,"
	     "\"fibers\":%llu,\"fiber_cpus\":%llu,\"fiber_switches\":%llu,\"handoffs\":%llu}",
	     cxlmu_wait_sched_name(), cxlmu_wait_path_name(), (unsigned long long)w.threads,
	     (unsigned long long)w.sleeps, (unsigned long long)w.yields,
	     (unsigned long long)w.polls, (unsigned long long)w.early,
	     (unsigned long long)w.wakeups, (unsigned long long)w.asked_ns,
	     (unsigned long long)w.slept_ns, (unsigned long long)s.fibers,
	     (unsigned long long)s.cores, (unsigned long long)s.switches,
	     (unsigned long long)s.handoffs);
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* Mean calls in flight while any was: 1 when every call waited alone. */
static double in_flight(const struct cxlmu_remote_totals *r)
{
	return r->busy_ns ? (double)r->flight_ns / (double)r->busy_ns : 0.0;
}

/* The overlap achieved: the share of the callers' waiting in which their
 * core could run something else (0: every caller sat idle). */
static double overlap(const struct cxlmu_remote_totals *r)
{
	return r->wait_ns ? 1.0 - (double)r->idle_ns / (double)r->wait_ns : 0.0;
}

static void report_remote_text(void)
{
	struct cxlmu_remote_totals r;
	struct cxlmu_remote_fn_stats f;

	cxlmu_remote_totals(&r);
	if (!r.fns && !r.refused && !r.calls)
		return;
	emit("cxlmu: remote: %u functions (%u refused), %u agents; %llu calls, in flight %.2f "
	     "on average while any was and %llu at most; agent %.3f ms, callers waited %.3f ms, "
	     "idle %.3f ms of it: overlap %.1f%%\n", r.fns, r.refused, r.agents,
	     (unsigned long long)r.calls, in_flight(&r), (unsigned long long)r.inflight_max,
	     ms(r.agent_ns), ms(r.wait_ns), ms(r.idle_ns), 100.0 * overlap(&r));
	for (unsigned i = 0; cxlmu_remote_fn(i, &f); i++)
		emit("cxlmu: remote: %s: %llu calls (%llu ran locally), agent %.3f ms (%.2f us a "
		     "call), waited %.3f ms (%.2f us a call), %llu switched away\n", f.name,
		     (unsigned long long)f.calls, (unsigned long long)f.local, ms(f.agent_ns),
		     f.calls ? (double)f.agent_ns / 1e3 / (double)f.calls : 0.0, ms(f.wait_ns),
		     f.calls ? (double)f.wait_ns / 1e3 / (double)f.calls : 0.0,
		     (unsigned long long)f.switched);
}

static void emit_json_string(const char *s)
{
	emit("\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			emit("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			emit("\\u%04x", (unsigned char)*s);
		else
			emit("%c", *s);
	}
	emit("\"");
}

static void report_remote_json(void)
{
	struct cxlmu_remote_totals r;
	struct cxlmu_remote_fn_stats f;

	cxlmu_remote_totals(&r);
	emit(",\"remote\":{\"functions\":%u,\"refused\":%u,\"agents\":%u,\"calls\":%llu,"
	     "\"inflight_max\":%llu,\"busy_ns\":%llu,\"flight_ns\":%llu,\"agent_ns\":%llu,"
	     "\"wait_ns\":%llu,\"idle_ns\":%llu,\"in_flight_mean\":%.3f,\"overlap\":%.3f,"
	     "\"by_function\":[", r.fns, r.refused, r.agents,
	     (unsigned long long)r.calls, (unsigned long long)r.inflight_max,
	     (unsigned long long)r.busy_ns, (unsigned long long)r.flight_ns,
	     (unsigned long long)r.agent_ns, (unsigned long long)r.wait_ns,
	     (unsigned long long)r.idle_ns, in_flight(&r), overlap(&r));
	for (unsigned i = 0; cxlmu_remote_fn(i, &f); i++) {
		emit("%s{\"name\":", i ? "," : "");
		emit_json_string(f.name);
		emit(",\"calls\":%llu,\"local\":%llu,\"agent_ns\":%llu,\"wait_ns\":%llu,"
		     "\"switched\":%llu}", (unsigned long long)f.calls, (unsigned long long)f.local,
		     (unsigned long long)f.agent_ns, (unsigned long long)f.wait_ns,
		     (unsigned long long)f.switched);
	}
	emit("]}");
}

static void report_text(const struct cxlmu_config *cfg, const struct cxlmu_topology *t,
			cxlmu_nodemask_t shown, const struct placement *pl)
{
	char pol[64], want[64], nodes[96];

	cxlmu_policy_format(cxlmu_heap_policy(), pol, sizeof(pol));
	cxlmu_policy_format(&cfg->policy, want, sizeof(want));
	cxlmu_nodemask_format(t->cxl, nodes, sizeof(nodes));
	emit("cxlmu: policy %s", pol);
	if (strcmp(pol, want))
		emit(" (asked: %s)", want);
	emit(", cxl nodes %s, %s binding, application mmap %s\n",
	     *nodes ? nodes : "none", cfg->strict ? "strict" : "preferred",
	     cfg->no_mmap ? "left alone" : "placed");
	emit("cxlmu: %4s %4s %14s %14s %14s %12s %12s\n",
	     "node", "cxl", "bytes_live", "bytes_peak", "bytes_total", "allocations", "frees");
	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++) {
		struct cxlmu_node_totals s;
		if (!(shown & (1ull << n)))
			continue;
		cxlmu_stats_node(n, &s);
		emit("cxlmu: %4u %4s %14lld %14lld %14llu %12llu %12llu\n", n,
		     (t->cxl & (1ull << n)) ? "yes" : "no",
		     (long long)s.bytes_live, (long long)s.bytes_peak,
		     (unsigned long long)s.bytes_total, (unsigned long long)s.allocations,
		     (unsigned long long)s.frees);
	}
	for (unsigned i = 0; i < CXLMU_ARRAY_SIZE(tier_names); i++) {
		struct cxlmu_node_totals s;
		cxlmu_stats_tier((enum cxlmu_tier)i, &s);
		if (!s.allocations)
			continue;
		emit("cxlmu: %9s %14lld %14lld %14llu %12llu %12llu\n", tier_names[i],
		     (long long)s.bytes_live, (long long)s.bytes_peak,
		     (unsigned long long)s.bytes_total, (unsigned long long)s.allocations,
		     (unsigned long long)s.frees);
	}
	emit("cxlmu: placement check (move_pages): %u sampled pages, %u where the policy "
	     "meant, %u elsewhere, %u not resident, %u not reported by the kernel\n",
	     pl->sampled, pl->as_meant, pl->elsewhere, pl->not_resident, pl->not_reported);
	emit("cxlmu: sampled pages by node:");
	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++)
		if (shown & (1ull << n))
			emit(" %u:%u", n, pl->by_node[n]);
	emit("\ncxlmu: fallbacks to DRAM %llu, bind errors %llu\n",
	     (unsigned long long)cxlmu_stats_fallbacks(),
	     (unsigned long long)cxlmu_stats_bind_errors());
	report_wait_text();
	report_sched_text();	report_remote_text();
}

static void report_json(const struct cxlmu_config *cfg, const struct cxlmu_topology *t,
			cxlmu_nodemask_t shown, const struct placement *pl)
{
	char pol[64], want[64];
	const char *sep = "";

	cxlmu_policy_format(cxlmu_heap_policy(), pol, sizeof(pol));
	cxlmu_policy_format(&cfg->policy, want, sizeof(want));
	emit("{\"version\":\"%s\",\"policy\":\"%s\",\"policy_asked\":\"%s\","
	     "\"strict\":%s,\"mmap\":%s,\"cxl_nodes\":[", PACKAGE_VERSION, pol, want,
	     cfg->strict ? "true" : "false", cfg->no_mmap ? "false" : "true");
	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++)
		if (t->cxl & (1ull << n)) {
			emit("%s%u", sep, n);
			sep = ",";
		}
	emit("],\"nodes\":[");
	sep = "";
	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++) {
		struct cxlmu_node_totals s;
		if (!(shown & (1ull << n)))
			continue;
		cxlmu_stats_node(n, &s);
		emit("%s{\"node\":%u,\"cxl\":%s,\"bytes_live\":%lld,\"bytes_peak\":%lld,"
		     "\"bytes_total\":%llu,\"allocations\":%llu,\"frees\":%llu}", sep, n,
		     (t->cxl & (1ull << n)) ? "true" : "false",
		     (long long)s.bytes_live, (long long)s.bytes_peak,
		     (unsigned long long)s.bytes_total, (unsigned long long)s.allocations,
		     (unsigned long long)s.frees);
		sep = ",";
	}
	emit("],\"tiers\":[");
	sep = "";
	for (unsigned i = 0; i < CXLMU_ARRAY_SIZE(tier_names); i++) {
		struct cxlmu_node_totals s;
		cxlmu_stats_tier((enum cxlmu_tier)i, &s);
		emit("%s{\"tier\":\"%s\",\"bytes_live\":%lld,\"bytes_peak\":%lld,"
		     "\"bytes_total\":%llu,\"allocations\":%llu,\"frees\":%llu}", sep,
		     tier_names[i], (long long)s.bytes_live, (long long)s.bytes_peak,
		     (unsigned long long)s.bytes_total, (unsigned long long)s.allocations,
		     (unsigned long long)s.frees);
		sep = ",";
	}
	emit("],\"placement\":{\"sampled\":%u,\"as_meant\":%u,\"elsewhere\":%u,"
	     "\"not_resident\":%u,\"not_reported\":%u,\"pages_by_node\":[",
	     pl->sampled, pl->as_meant, pl->elsewhere, pl->not_resident, pl->not_reported);
	sep = "";
	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++)
		if (shown & (1ull << n)) {
			emit("%s{\"node\":%u,\"pages\":%u}", sep, n, pl->by_node[n]);
			sep = ",";
		}
	emit("]},\"fallbacks\":%llu,\"bind_errors\":%llu,",
	     (unsigned long long)cxlmu_stats_fallbacks(),
	     (unsigned long long)cxlmu_stats_bind_errors());
	report_wait_json();
	report_sched_json();
	report_remote_json();
	emit("}\n");
}

int cxlmu_report_write(int fd, const struct cxlmu_config *cfg,
		       const struct cxlmu_topology *topo, enum cxlmu_stats_format fmt)
{
	static atomic_flag busy = ATOMIC_FLAG_INIT;   /* one report at a time */
	struct placement pl;
	cxlmu_nodemask_t shown = topo->has_memory | topo->cxl;
	int ret;

	while (atomic_flag_test_and_set_explicit(&busy, memory_order_acquire))
		cxlmu_prim_sched_yield();
	cxlmu_stats_flush();
	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++)
		if (cxlmu_stats_node_used(n))
			shown |= 1ull << n;
	check_placement(&pl);
	out.fd = fd;
	out.err = 0;
	out.len = 0;
	if (fmt == CXLMU_STATS_JSON)
		report_json(cfg, topo, shown, &pl);
	else
		report_text(cfg, topo, shown, &pl);
	ret = out.err ? out.err : cxlmu_write_all(fd, out.buf, out.len);
	out.len = 0;
	atomic_flag_clear_explicit(&busy, memory_order_release);
	return ret;
}
