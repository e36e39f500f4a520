# Sourced by the integration guest's /init (tests/vm/mkinitrd.sh integration):
# runs tests/integration scripts in the guest and prints each one's output
# between markers for tests/vm/integration.sh:
#   @@script NAME / its stdout and stderr / @@rc NAME STATUS SECONDS
# The scripts come from the kernel command line (cxlmu_scripts=a.sh,b.sh),
# each limited to cxlmu_script_timeout= seconds (default 600);
# cxlmu_scripts=shell gives a shell on the console instead. Runs under
# busybox sh; the scripts run under it too, as /bin/sh. Assertions are made
# on the host, not here.

. /cxlmu/int.env
export top_builddir top_srcdir
# fibers.sh's "many threads": 1000, not 10 000, on the emulated CPU (its
# plain run's threads poll every 200 ms and starve their creator there);
# TEST_SLOW_CPU: sleep-many.sh's runs shorter.
TEST_MANY_THREADS=1000
TEST_SLOW_CPU=tcg
export TEST_MANY_THREADS TEST_SLOW_CPU

scripts=
limit=600
for arg in $(cat /proc/cmdline); do
	case $arg in
	cxlmu_scripts=*) scripts=$(echo "${arg#cxlmu_scripts=}" | tr , ' ') ;;
	cxlmu_script_timeout=*) limit=${arg#cxlmu_script_timeout=} ;;
	esac
done

H=$top_builddir/tests/integration/helpers
grep -qw fsgsbase /proc/cpuinfo && fsgs=yes || fsgs=no
echo "@@info kernel=$(uname -r) nproc=$(nproc) fsgsbase=$fsgs" \
	"python3=$(/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])' 2>&1 | tr ' ' _)"
echo "@@info $("$H"/noiouring probe 2>&1 | tr '\n' ' ')$("$H"/noiouring futex 2>&1 | tr '\n' ' ')$("$H"/fdreuse probe 2>&1 | tr '\n' ' ')"

cd "$top_builddir" || exit 1
# cxlmu_scripts=shell: a shell on the console instead; leaving it powers off.
if [ "$scripts" = shell ]; then
	echo "cxlmu integration guest: build tree in $top_builddir; exit to power off"
	setsid cttyhack sh
	scripts=
fi
for s in $scripts; do
	echo "@@script $s"
	t0=$(date +%s)
	timeout -k 10 "$limit" sh "$top_srcdir/tests/integration/$s" </dev/null 2>&1
	rc=$?
	echo "@@rc $s $rc $(($(date +%s) - t0))"
done

# Kernel messages that say a program crashed or was killed.
echo "@@dmesg"
dmesg | grep -E 'segfault|general protection|traps:|BUG|Oops|Killed process|hung_task' | tail -n 40
echo "@@end-dmesg"
