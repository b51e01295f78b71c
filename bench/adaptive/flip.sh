#!/bin/sh
# The bad arm of bench/adaptive, a command arm for sg-gen(1): the batch
# the templater would write for this job at temperature 1, each sample
# with its label swapped for the other of the recipe's two labels.  The
# samples look as good as the templater's; only the labels are wrong.
exec jq -c '.generator = "templater" | .params = {temperature: 1}' |
	sg-gen |
	jq -c --slurp '(.[0].recipe.task_input.labels) as [$a, $b] |
		.[] | select(.type == "sample" and has("data")) | .data |
		.label |= (if . == $a then $b else $a end)'
