#!/bin/sh
# bench/adaptive/table.sh - the tables of bench/adaptive in Markdown, from
# every OUTDIR/runs/TASK/CONFIG/SEED/result.json that run.sh left,
# gathered into OUTDIR/results.jsonl (one line a run).  Per task: utility
# on the held-out test set, mean ± standard error over the seeds, with the
# range, samples, iterations and wall time of sg-run; for the
# configurations of several arms, each arm's mean share of the samples
# and, where a bad arm (flipped, mislabelled) is offered, its share after
# the first 20 % of each seed's samples; then the targets the router is
# held to.
# Usage: bench/adaptive/table.sh [OUTDIR]
set -eu
out=${1:-build/bench-adaptive}
find "$out/runs" -name result.json | sort | xargs cat | jq -c . >"$out/results.jsonl"
jq -rs '
def fmt(d): if . == null then "-" else pow(10; d) as $p | (. * $p | round) as $r |
	($r | fabs) as $a | ($a % $p | tostring) as $f |
	(if $r < 0 then "-" else "" end) + ($a / $p | floor | tostring) +
	(if d > 0 then "." + (if d > ($f | length) then "0" * (d - ($f | length)) else "" end) + $f
	else "" end) end;
def signed(d): (if . != null and . >= 0 then "+" else "" end) + fmt(d);
def mean: map(select(. != null)) | if length == 0 then null else add / length end;
def se: if length < 2 then null else
	mean as $m | map(. - $m | . * .) | add / (length - 1) / length | sqrt end;
def mixed: test("^(uniform|router|feedback|gated|arms)");
def order: [(if mixed then 1 else 0 end), test("\\+"),
	(sub("\\+.*"; "") as $b | ["uniform", "router", "feedback", "gated", "arms"] | index($b)), .];
def stats: (map(.utility) | map(select(. != null))) as $u | {
	config: .[0].config, seeds: length, u: ($u | mean), se: ($u | se),
	min: ($u | min), max: ($u | max), samples: (map(.samples) | mean),
	iterations: (map(.iterations) | mean), wall: (map(.wall) | mean),
	eval_wall: (map(.eval_wall // empty) | if length > 0 then mean else null end),
	wall_se: (map(.wall) | se), shares: (map(.shares) | (map(keys[]) | unique) as $a |
		[$a[] as $k | {($k): (map(.[$k]) | mean)}] | add),
	bad: (sort_by(.seed) | map(.bad_after_20)),
	failed: map(select(.status != 0) | "seed \(.seed): \(.status)") };
def diff($a; $b): if $a.u == null or $b.u == null then "-" else
	"\($a.u - $b.u | signed(3)) ± \([$a.se, $b.se] | map(. // 0 | . * .) | add | sqrt | fmt(3))" end;
def under10: if .bad[0] == null then "-" else
	"\(.bad | map(select(. < 0.1)) | length) of \(.bad | length)" end;
group_by(.task)[] | .[0].task as $task | . as $runs |
(group_by(.config) | map(stats) | sort_by(.config | order)) as $c |
($c | INDEX(.config)) as $by |
($c | map(select(.config | mixed | not) | select(.config != "flipped" and .u != null)) | max_by(.u)) as $best |
"### \($task): majority \(map(.majority) | mean | fmt(3)), real-trained ceiling \(map(.ceiling) | mean | fmt(3))",
"",
"| configuration | seeds | utility | min – max | samples | iterations | sg-run wall s | exit status not 0 |",
"|---|---:|---:|---:|---:|---:|---:|---|",
($c[] | "| \(.config) | \(.seeds) | \(.u | fmt(3)) ± \(.se | fmt(3)) | " +
	"\(.min | fmt(3)) – \(.max | fmt(3)) | \(.samples | fmt(0)) | \(.iterations | fmt(0)) | " +
	"\(.wall | fmt(1)) ± \(.wall_se | fmt(1)) | \(.failed | join(", ")) |"),
"",
($c | map(select(.config | mixed))) as $m |
($m | map(.shares | keys[]) | unique) as $arms |
if $m == [] then empty else
"| configuration | \($arms | join(" | ")) | the bad arm after 20 %, per seed | under 10 % |",
"|---|\($arms | map("---:") | join("|"))|---|---:|",
($m[] | . as $s | "| \(.config) | " + ($arms | map($s.shares[.] | fmt(3)) | join(" | ")) +
	" | \(if .bad[0] == null then "" else .bad | map(fmt(2)) | join(" ") end) | \(under10) |"),
"" end,
"Targets:",
"- feedback − the best arm alone (\($best.config // "-")): \(diff($by.feedback; $best)) (≥ 0)",
"- feedback − uniform: \(diff($by.feedback; $by.uniform)) (≥ +0.05)",
"- arms − the best arm alone: \(diff($by.arms; $best)) (≥ 0)",
"- arms − uniform: \(diff($by.arms; $by.uniform)) (≥ +0.05)",
"- router − uniform: \(diff($by.router; $by.uniform)) (≥ 0)",
(("flipped", "mislabelled") as $bad | select($bad == "flipped" or $by["arms+" + $bad]) |
"- seeds with \($bad) under 10 % after the first 20 %: " +
	(["router", "feedback", "arms"] | map(. + "+" + $bad) | map("\(.) " +
	"\($by[.] // {bad: [null]} | under10)") | join(", ")) + " (≥ 9 of 10)"),
"- sg-run wall, feedback / router: \(if $by.feedback and $by.router then
	$by.feedback.wall / $by.router.wall | fmt(2) else "-" end)x (≤ 1.5x)",
"- sg-run wall, arms / arms without its evaluations: \(if $by.arms.eval_wall then
	$by.arms.wall / ($by.arms.wall - $by.arms.eval_wall) | fmt(2) else "-" end)x (≤ 1.5x); " +
	"arms / feedback: \(if $by.arms and $by.feedback then
	$by.arms.wall / $by.feedback.wall | fmt(2) else "-" end)x",
""
' "$out/results.jsonl"
