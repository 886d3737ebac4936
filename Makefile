# aisle — one Makefile. Targets: all, run, test, check, bench, lint, fuzz, clean.
# Dependencies come through pkg-config; `make deps` installs missing Debian
# packages when run as root and prints the apt-get line otherwise.

CC      ?= cc
BUILD   ?= build
PKGS    := yaml-0.1 libuv json-c lua5.4 sqlite3 libcurl libsodium hiredis \
           libmongoc-1.0 openssl
# pkg-config flags live in their own variables so `make CFLAGS=...` keeps them
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcivetweb -lm -lpthread
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes
ifeq ($(CI),true)
WARN    += -Werror
endif
CFLAGS  ?= -O2 -g
SAN     ?=
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(SAN) -I. $(PKG_CFLAGS) -MMD -MP
LDFLAGS ?=
# V=1 shows full compiler command lines
ifeq ($(V),1)
Q :=
else
Q := @
endif

ENGINE_SRC  := $(wildcard engine/*.c engine/nlu/*.c engine/stages/*.c engine/llm/*.c)
STORES_SRC  := $(wildcard stores/*.c stores/sqlite/*.c stores/redis/*.c stores/mongo/*.c)
GATEWAY_SRC := $(wildcard gateway/*.c)
CLI_SRC     := $(wildcard cli/*.c)
LIB_SRC     := $(ENGINE_SRC) $(STORES_SRC) $(GATEWAY_SRC)
LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ     := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC   := $(wildcard tests/bench/*.c)
BENCH_BIN   := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
# fuzz targets: each tests/fuzz/fuzz_*.c is built twice, with the standalone
# replay driver by every build (make test replays the seed and regression
# inputs through it) and with libFuzzer by `make fuzz`
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60

.PHONY: all deps run test check bench lint fuzz clean unit
all: $(BUILD)/aisle $(UNIT_BIN) $(FUZZ_REPLAY) pipelines/commerce-agent.yaml

# the agent-mode pipeline is the commerce pipeline with one stage more:
# written from it, so an edit of commerce.yaml reaches it at the next build
# (commit the result; tests/integration/agent.sh fails while they differ)
pipelines/commerce-agent.yaml: pipelines/commerce.yaml mk/agent-pipeline.sh
	@sh mk/agent-pipeline.sh >$@.tmp && mv $@.tmp $@ && echo "  GEN     $@"

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# the OpenAPI document is embedded with .incbin, which -MMD cannot see
$(BUILD)/gateway/openapi.o: gateway/openapi.json

$(BUILD)/libaisle.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/aisle: $(CLI_OBJ) $(BUILD)/libaisle.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libaisle.a $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libaisle.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libaisle.a $(PKG_LIBS) -lcmocka

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/driver.c $(BUILD)/libaisle.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/driver.c $(BUILD)/libaisle.a $(PKG_LIBS)

# the libFuzzer build of a target (only under `make fuzz`: clang, SAN below)
$(BUILD)/fuzz/lf_%: tests/fuzz/%.c $(BUILD)/libaisle.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(BUILD)/libaisle.a $(PKG_LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libaisle.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libaisle.a $(PKG_LIBS)

deps:
	@sh mk/deps.sh

# Build everything, then run every suite; the last line is "N passed, N
# failed, N skipped" with the reason of every skip (under CI=true a skip
# not in tests/skips-allowed.txt is a failure).
test: deps
	@$(MAKE) --no-print-directory all
	@sh tests/run.sh $(BUILD)

# Unit and integration suites (a real `aisle serve`, real clients) under
# AddressSanitizer and UndefinedBehaviorSanitizer; the browser suite and
# the UI's lint (no C in either) run in make test.
check: deps
	@$(MAKE) --no-print-directory BUILD=build-san CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		SKIP_SUITES="e2e ui_lint" sh tests/run.sh build-san

bench:
	@sh mk/deps.sh bench
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@sh tests/bench/run.sh $(BUILD)

# libFuzzer over every target for FUZZ_SECONDS each (clang, ASan, UBSan),
# in build-fuzz/; new inputs go to build-fuzz/corpus/, crashes to
# build-fuzz/crashes/ (copy them to tests/fuzz/regression/TARGET/).
fuzz:
	@sh mk/deps.sh fuzz
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
		$(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/fuzz/lf_%)
	@sh tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# the C sources (mk/lint-c.sh: banned functions, DESIGN.md's include rules,
# the public headers' prefixes), the UI (mk/lint-ui.sh: API types from
# gateway/openapi.json, tsc, ESLint with React's hooks rules), then the
# shipped pipelines through `aisle lint`
lint: $(BUILD)/aisle
	@sh mk/lint-c.sh
	@sh mk/lint-ui.sh
	$(BUILD)/aisle lint $(wildcard examples/*/*.yaml pipelines/*.yaml)

# Build, then serve the chat page and API on http://127.0.0.1:8080 with the
# embedded default (a SQLite file under var/), importing the sample catalog
# on first start. Development mode: no JWT secret needed (see
# docs/operations.md for production).
run:
	@sh mk/deps.sh run
	@$(MAKE) --no-print-directory $(BUILD)/aisle
	@sh ui/build.sh || echo "make run: the UI could not be built; serving the API only"
	@mkdir -p var
	@# a development signing key kept beside the database, so that sessions
	@# and carts survive a restart of `make run`
	@[ -s var/dev-jwt-secret ] || (umask 077; head -c 48 /dev/urandom | base64 > var/dev-jwt-secret)
	AISLE_JWT_SECRET="$$(cat var/dev-jwt-secret)" $(BUILD)/aisle serve --dev --db var/aisle.db \
		--pipeline pipelines/commerce.yaml --seed-catalog examples/catalog/products.json

clean:
	rm -rf build build-san build-fuzz

# what each object and each test, fuzz and bench program was built from
# (-MMD): a changed header, a test-only one included, rebuilds them
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_BIN:=.d) $(FUZZ_REPLAY:=.d) $(BENCH_BIN:=.d)
