#!/bin/sh
# Proves the sqlite3 shell runs under each policy with output identical to a plain run (a file database, 20000 rows, index, joins, aggregates).
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_cmd sqlite3
SQLITE3=$(command -v sqlite3)
same_as_plain sqlite3 "$SQLITE3" test.db "
create table t(id integer primary key, k int, v text);
with recursive c(i) as (select 1 union all select i + 1 from c where i < 20000)
insert into t(k, v) select i % 97, printf('%0*d', i % 500, i) from c;
create index tk on t(k);
select count(*), sum(length(v)), max(v) from t;
select k, count(*), sum(length(v)) from t group by k order by k limit 5;
select count(*) from t a join t b on a.k = b.k where a.id < 200 and b.id < 2000;
select group_concat(id) from (select id from t where k = 13 order by id desc limit 10);
"
finish
