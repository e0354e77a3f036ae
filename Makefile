# hangar — build with plain GNU make + pkg-config.
#   make            build hangar, hangar-oci and the test helpers
#   make check      install test dependencies (as root) and run every test
#   make sanitize   ASan+UBSan build into build-sanitize/
#   make install PREFIX=/usr/local

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/hangar
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
BUILD ?= build

CC ?= cc
PKGS := libseccomp libcap json-c libmnl libnl-3.0 libnl-route-3.0 libnftables
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wno-format-nonliteral
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -D_GNU_SOURCE -I. $(WARN) $(PKG_CFLAGS) -fno-strict-aliasing
CFLAGS += -DHANGAR_VERSION=\"$(VERSION)\" -DHANGAR_DATADIR=\"$(DATADIR)\"
LDLIBS += $(PKG_LIBS) -lpthread
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.1.0)
COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
CFLAGS += -DHANGAR_COMMIT=\"$(COMMIT)\"

# hangar-oci is linked statically when the static libraries are installed
# (libc6-dev, libseccomp-dev, libcap-dev and libjson-c-dev ship them): no
# dynamic loader and no shared libc to map, so one command peaks at ~1.3 MiB
# RSS instead of ~2.1 MiB (bench/startup).  OCI_STATIC=0 links it as hangar.
OCI_PKGS := libseccomp libcap json-c
OCI_STATIC ?= $(shell for l in c seccomp cap json-c; do \
	f=$$($(CC) -print-file-name=lib$$l.a); [ -f "$$f" ] || exit 0; done; echo 1)
ifeq ($(OCI_STATIC),1)
OCI_LDLIBS := -static $(shell pkg-config --static --libs $(OCI_PKGS) 2>/dev/null) -lpthread
else
OCI_LDLIBS := $(LDLIBS)
endif

# Debug info goes into BINARY.debug next to the binary (gdb finds it through
# .gnu_debuglink): the runtimes copy themselves into a sealed memfd before
# they enter a container (CVE-2019-5736), and that copy need not carry it.
split_debug = objcopy --only-keep-debug $(1) $(1).debug && \
	objcopy --strip-debug --add-gnu-debuglink=$(1).debug $(1)

LIB_DIRS := common config namespaces rootfs cgroups netns checkpoint runtime manager
LIB_SRC := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
OCI_SRC := $(wildcard cli/hangar-oci/*.c)
OCI_OBJ := $(OCI_SRC:%.c=$(BUILD)/%.o)
MGR_SRC := $(wildcard cli/hangar/*.c)
MGR_OBJ := $(MGR_SRC:%.c=$(BUILD)/%.o)
CLI_COMMON_SRC := $(wildcard cli/common/*.c)
CLI_COMMON_OBJ := $(CLI_COMMON_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BIN := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/helpers/%)

BINS := $(BUILD)/hangar-oci $(if $(MGR_SRC),$(BUILD)/hangar)

.PHONY: all check unit sanitize install clean deps test-deps format fuzz bench demo

all: $(BINS) $(UNIT_BIN) $(HELPER_BIN)

ifeq ($(V),1)
Q :=
else
Q := @
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libhangar.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/hangar-oci: $(OCI_OBJ) $(CLI_COMMON_OBJ) $(BUILD)/libhangar.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OCI_OBJ) $(CLI_COMMON_OBJ) $(BUILD)/libhangar.a $(OCI_LDLIBS)
	$(Q)$(call split_debug,$@)

$(BUILD)/hangar: $(MGR_OBJ) $(CLI_COMMON_OBJ) $(BUILD)/libhangar.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(MGR_OBJ) $(CLI_COMMON_OBJ) $(BUILD)/libhangar.a $(LDLIBS)
	$(Q)$(call split_debug,$@)

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/tap.h $(BUILD)/libhangar.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(BUILD)/libhangar.a $(LDLIBS)

$(BUILD)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# The README's second command: install test dependencies, build, run everything.
check:
	@if [ "$$(id -u)" = 0 ] && [ -z "$$HANGAR_SKIP_DEPS" ]; then scripts/install-deps --test; fi
	$(MAKE) all
	tests/run-all

unit: all
	tests/run-all unit

sanitize:
	CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" $(MAKE) BUILD=build-sanitize OCI_STATIC=0 all

deps:
	scripts/install-deps

test-deps:
	scripts/install-deps --test

# libFuzzer target for the config parser (needs clang): make fuzz [FUZZ_TIME=seconds]
FUZZ_TIME ?= 60
FUZZ_LIB_SRC := $(wildcard common/*.c config/*.c)
$(BUILD)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c $(FUZZ_LIB_SRC)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -D_GNU_SOURCE -I. $(WARN) $(PKG_CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $^ $(PKG_LIBS)

fuzz: $(BUILD)/fuzz/fuzz_config
	@mkdir -p $(BUILD)/fuzz/corpus
	$(BUILD)/fuzz/fuzz_config -max_total_time=$(FUZZ_TIME) -dict=tests/fuzz/config.dict \
		$(BUILD)/fuzz/corpus tests/fuzz/seeds

# The README's first command: install, build, start an instance.
demo:
	scripts/demo

bench: all
	bench/run-all

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DATADIR) $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 0644 docs/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 cli/hangar/hangar.bash-completion $(DESTDIR)$(BASHCOMPDIR)/hangar

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-sanitize

-include $(LIB_OBJ:.o=.d) $(OCI_OBJ:.o=.d) $(MGR_OBJ:.o=.d) $(CLI_COMMON_OBJ:.o=.d) $(UNIT_BIN:=.d)
