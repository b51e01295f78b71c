/*
 * record-internal.h - what the files of record/ share, not exported: the
 * dump flags and the byte-level readers and writers under jsonl.c and
 * filter.c (a sample read for some fields, a record spliced back into its
 * bytes).  The fuzz harnesses hold them to jansson.
 */
#ifndef SG_RECORD_INTERNAL_H
#define SG_RECORD_INTERNAL_H

#include "base/base.h"
#include "record/record.h"

/* jsonl.c: how records are written */
/* Ten significant digits keep 0.7 as 0.7 and are far finer than any score
 * needs; the output stays byte-identical from run to run. */
#define SG_REAL_PRECISION 10
#define SG_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(SG_REAL_PRECISION))

/* dump.c: v appended to b as json_dump_callback writes it with
 * SG_DUMP_FLAGS | JSON_ENCODE_ANY; -1 where jansson would fail (a string
 * that is not UTF-8), b then holding part of it. */
int sg_dump(struct sg_buf *b, const json_t *v);

/* lazy.c: a record read for the fields a stage needs */
/* The object in line (len bytes), as jansson reads it with
 * JSON_REJECT_DUPLICATES, but with only the members that paths name
 * (NULL-terminated, at most 32): "a" is member a, "a.b" member b of an
 * object a (any other a is whole), "*" any member.  The whole line is
 * checked all the same.  NULL when the line is not an object or when
 * anything about it is unsure (an escaped key, deep nesting, a number near
 * the limits, ...): jansson must read it, and say what is wrong if
 * anything is. */
json_t *sg_lazy_load(const char *line, size_t len, const char *const paths[]);

/* splice.c: a record written back from its bytes, owned fields replaced */
/* The object in line (len bytes, valid JSON) with each top-level field
 * named in owned taken from rec instead: in its place when line has it,
 * else appended; left out when rec has none.  The rest is copied byte for
 * byte.  Into out, from its start: the length, or 0 when line is not an
 * object or has a key with an escape, which only jansson reads right. */
size_t sg_splice(const char *line, size_t len, const json_t *rec,
	const char *const owned[], struct sg_buf *out);

#endif
