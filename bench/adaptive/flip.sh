#!/bin/sh
# The bad arms of bench/adaptive, command arms for sg-gen(1): the batch a
# generator would write for this job, each sample with its label swapped
# for the other of the recipe's two labels.  "flip.sh" (the flipped arm)
# swaps the templater's at temperature 1: texts that look as good as the
# templater's.  "flip.sh extractive" (mislabelled) swaps the extractive
# arm's: real texts from the task's corpus with wrong labels.
case ${1:-templater} in
templater) params='{"temperature": 1}' ;;
extractive) params='{"passages": 1}' ;;
*) echo "flip.sh: no generator '$1'" >&2; exit 2 ;;
esac
exec jq -c --arg gen "${1:-templater}" --argjson params "$params" \
	'.generator = $gen | .params = $params' |
	sg-gen |
	jq -c --slurp '(.[0].recipe.task_input.labels) as [$a, $b] |
		.[] | select(.type == "sample" and has("data")) | .data |
		.label |= (if . == $a then $b else $a end)'
