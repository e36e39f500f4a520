#!/bin/sh
# Proves git runs under each policy with output identical to a plain run (init, add, commit with fixed dates, log, diff, gc).
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_cmd git
HOME=$WORK
GIT_CONFIG_NOSYSTEM=1
GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org GIT_AUTHOR_DATE='2024-01-01T00:00:00Z'
GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.org GIT_COMMITTER_DATE='2024-01-01T00:00:00Z'
export HOME GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_AUTHOR_DATE \
	GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL GIT_COMMITTER_DATE
same_as_plain git /bin/sh -c '
set -e
git init -q -b main repo
cd repo
i=0
while [ $i -lt 30 ]; do
	seq $i 2000 > f$((i % 5)).txt
	git add .
	git commit -q -m "commit $i"
	i=$((i + 1))
done
git log --format="%H %s" | head -3
git rev-list --count HEAD
git diff --stat HEAD~10 HEAD
git gc -q
git fsck --no-progress 2>&1
git cat-file -p HEAD^{tree}
'
finish
