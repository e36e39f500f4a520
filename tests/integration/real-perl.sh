#!/bin/sh
# Proves perl runs under each policy with output identical to a plain run (hashes, sorting, regexes, big strings).
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_cmd perl
PERL=$(command -v perl)
same_as_plain perl "$PERL" -e '
my %h;
$h{$_ % 1000} .= "x" x ($_ % 37) for 1 .. 50000;
my $total = 0;
$total += length($h{$_}) for keys %h;
print "$total\n";
my @s = sort { $a <=> $b } map { ($_ * 7919) % 10007 } 1 .. 100000;
print "@s[0 .. 9]\n";
my $big = "ab" x (4 << 20);
my $n = () = $big =~ /ba/g;
print "$n\n";
print join(",", map { sprintf "%x", $_ } grep { /7/ } 1 .. 200), "\n";
'
finish
