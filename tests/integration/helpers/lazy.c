/* Programs pinned to one CPU (run under `taskset -c 0`) that show, or do
 * not show, what fibers are for (src/sched_why.c). Run as `lazy MODE`:
 *   quiet     a pool of 4 workers takes 200 items of about 0.5 ms of CPU
 *             work each from a queue (mutex and condition variable); it
 *             never polls and hands off rarely. Half-way, with every
 *             worker alive, the main thread prints what a program sees of
 *             itself: "tasks=N fds=F,F,... sigblk=M,M,..." (its threads,
 *             its open descriptors with where they point, each thread's
 *             blocked-signal mask from /proc/self/task/TID/status, sorted)
 *   pingpong  two threads hand a token back and forth 20 000 times
 *             through a mutex and two condition variables
 *   poll      two threads hand a token back and forth 2000 times, each
 *             waiting with `while (!my_turn) usleep(1);`
 * pingpong and poll print, once the players are joined, the names of the
 * threads left besides the main one: "others=NAME,NAME,..." (sorted),
 * once the players' kernel threads have left the list (up to a second;
 * "others-first=TID:STATE:NAME,..." first when it took a wait).
 * Each checks its own results and prints "MODE: ok". */
#include <dirent.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

/* ----------------------------------------------------------------------- */
/* quiet                                                                     */
/* ----------------------------------------------------------------------- */

#define ITEMS 200
#define WORKERS 4

static pthread_mutex_t qm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qc = PTHREAD_COND_INITIALIZER;
static int next_item, done_items, alive;
static long long sum;

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&qm);
	alive++;
	for (;;) {
		int item = next_item < ITEMS ? next_item++ : -1;
		long long t0, acc = 0;

		pthread_mutex_unlock(&qm);
		if (item < 0)
			break;
		t0 = t_now_ns();
		while (t_now_ns() - t0 < 500000)
			acc++;
		pthread_mutex_lock(&qm);
		sum += item;
		done_items++;
		pthread_cond_broadcast(&qc);
		/* Half-way, every worker waits for the main thread's look. */
		while (done_items >= ITEMS / 2 && alive > 0 && alive < WORKERS + 1)
			pthread_cond_wait(&qc, &qm);
		(void)acc;
	}
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "what" of every entry of a /proc/self directory: "a,b,c", sorted. */
static void list_dir(const char *dir, void (*what)(const char *name, char *out, size_t n),
		     char *out, size_t n)
{
	char *names[256];
	int k = 0;
	DIR *d = opendir(dir);
	struct dirent *e;

	out[0] = 0;
	T_CHECK(d != NULL, "opendir %s", dir);
	if (!d)
		return;
	while ((e = readdir(d)) && k < 256) {
		char buf[256];

		if (e->d_name[0] == '.')
			continue;
		what(e->d_name, buf, sizeof(buf));
		if (buf[0])
			names[k++] = strdup(buf);
	}
	closedir(d);
	qsort(names, (size_t)k, sizeof(names[0]), cmp_str);
	for (int i = 0; i < k; i++) {
		snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? "," : "", names[i]);
		free(names[i]);
	}
}

/* A descriptor and what it points to; not the directory being read. */
static void fd_what(const char *name, char *out, size_t n)
{
	char path[64], target[128];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/fd/%s", name);
	len = readlink(path, target, sizeof(target) - 1);
	target[len > 0 ? len : 0] = 0;
	if (!strncmp(target, "/proc/", 6) && strstr(target, "/fd")) {
		out[0] = 0;
		return;
	}
	/* Pipes and anonymous files differ by inode only: the kind is enough. */
	if (strchr(target, ':') && target[0] != '/')
		*strchr(target, ':') = 0;
	snprintf(out, n, "%s=%s", name, target);
}

static void sigblk_what(const char *name, char *out, size_t n)
{
	char path[96], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", name);
	out[0] = 0;
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		char mask[64];

		if (sscanf(line, "SigBlk: %63s", mask) == 1)
			snprintf(out, n, "%s", mask);
	}
	fclose(f);
}

static void task_what(const char *name, char *out, size_t n)
{
	snprintf(out, n, "task");
	(void)name;
}

/* A thread's state letter and name from its stat line, but the main
 * thread's: false for the main thread or a thread gone. */
static bool task_stat(const char *name, char *state, char *comm, size_t n)
{
	char path[96], line[256], *open_, *close_;
	bool ok = false;
	FILE *f;

	if (atoi(name) == getpid())
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%s/stat", name);
	if (!(f = fopen(path, "r")))
		return false;
	if (fgets(line, sizeof(line), f) && (open_ = strchr(line, '(')) &&
	    (close_ = strrchr(line, ')')) && close_[1] == ' ') {
		*close_ = 0;
		*state = close_[2];
		snprintf(comm, n, "%s", open_ + 1);
		ok = true;
	}
	fclose(f);
	return ok;
}

/* A thread's name, but the main thread's. */
static void comm_what(const char *name, char *out, size_t n)
{
	char state;

	if (!task_stat(name, &state, out, n))
		out[0] = 0;
}

/* A thread's id, state and name ("TID:STATE:NAME"), but the main
 * thread's: for the diagnostic line. */
static void state_what(const char *name, char *out, size_t n)
{
	char state, comm[64];

	out[0] = 0;
	if (task_stat(name, &state, comm, sizeof(comm)))
		snprintf(out, n, "%s:%c:%s", name, state, comm);
}

static void mode_quiet(void)
{
	pthread_t t[WORKERS];
	char tasks[4096], fds[4096], blk[4096];
	int ntasks = 0;

	for (int i = 0; i < WORKERS; i++)
		t[i] = t_start(worker, NULL);
	pthread_mutex_lock(&qm);
	while (done_items < ITEMS / 2 || alive < WORKERS)
		pthread_cond_wait(&qc, &qm);
	pthread_mutex_unlock(&qm);

	/* Every worker alive, waiting for the look. */
	list_dir("/proc/self/task", task_what, tasks, sizeof(tasks));
	for (char *p = tasks; *p; p++)
		ntasks += *p == ',';
	ntasks += tasks[0] != 0;
	list_dir("/proc/self/fd", fd_what, fds, sizeof(fds));
	list_dir("/proc/self/task", sigblk_what, blk, sizeof(blk));
	printf("tasks=%d fds=%s sigblk=%s\n", ntasks, fds, blk);

	pthread_mutex_lock(&qm);
	alive = 0;
	pthread_cond_broadcast(&qc);
	pthread_mutex_unlock(&qm);
	for (int i = 0; i < WORKERS; i++)
		T_CHECK(!pthread_join(t[i], NULL), "join worker %d", i);
	T_CHECK(done_items == ITEMS && sum == (long long)ITEMS * (ITEMS - 1) / 2,
		"%d items done, sum %lld", done_items, sum);
}

/* ----------------------------------------------------------------------- */
/* pingpong, poll                                                            */
/* ----------------------------------------------------------------------- */

static pthread_cond_t turn_c[2] = { PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER };
static _Atomic int turn;
static long rounds;
static _Atomic long handed[2];
static bool by_poll;

static void *player(void *arg)
{
	int me = (int)(intptr_t)arg;

	for (long i = 0; i < rounds; i++) {
		if (by_poll) {
			while (atomic_load(&turn) != me)
				usleep(1);
			atomic_store(&turn, !me);
		} else {
			pthread_mutex_lock(&qm);
			while (atomic_load(&turn) != me)
				pthread_cond_wait(&turn_c[me], &qm);
			atomic_store(&turn, !me);
			pthread_cond_signal(&turn_c[!me]);
			pthread_mutex_unlock(&qm);
		}
		handed[me]++;
	}
	return NULL;
}

static void mode_pair(long n, bool poll)
{
	char others[4096];
	pthread_t a, b;

	rounds = n;
	by_poll = poll;
	a = t_start(player, (void *)0);
	b = t_start(player, (void *)1);
	T_CHECK(!pthread_join(a, NULL) && !pthread_join(b, NULL), "join the players");
	T_CHECK(handed[0] == n && handed[1] == n, "handed %ld and %ld times, want %ld",
		(long)handed[0], (long)handed[1], n);
	/* A joined thread is gone from /proc a moment after its join
	 * returns: the kernel wakes the joiner as the thread's exit clears
	 * its id, before the thread leaves the list (plain as well). A
	 * thread still listed after a second is one that stays. */
	for (int tries = 0;; tries++) {
		list_dir("/proc/self/task", state_what, others, sizeof(others));
		if (tries == 100 || !strstr(others, ":lazy"))
			break;
		if (!tries)
			printf("others-first=%s\n", others);
		usleep(10000);
	}
	list_dir("/proc/self/task", comm_what, others, sizeof(others));
	printf("others=%s\n", others);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "quiet"))
		mode_quiet();
	else if (!strcmp(argv[1], "pingpong"))
		mode_pair(20000, false);
	else if (!strcmp(argv[1], "poll"))
		mode_pair(2000, true);
	else
		goto usage;
	return t_done(argv[1]);
usage:
	fprintf(stderr, "usage: lazy quiet|pingpong|poll\n");
	return 2;
}
