# warden -- one entry point.  `make test` on a fresh Debian machine installs
# what is missing, builds everything and runs every test.

CC      ?= cc
WERROR  ?= $(if $(CI),-Werror,)
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wstrict-prototypes $(WERROR) \
           -Iinclude -MMD -MP
DEPS    := build/.deps-ok
PKGS     = $(shell pkg-config --cflags --libs libuv 2>/dev/null)
LDLIBS  := -lpthread -lm
# Bind every symbol at start-up (full RELRO): the zygote and each worker
# inherit a resolved GOT instead of each resolving it again, lazily.
override LDFLAGS += -Wl,-z,now -Wl,-z,relro
# Sanitizers (make test-asan sets SAN and B=build-asan).
SAN     ?=
override CFLAGS += $(SAN)
override LDFLAGS += $(SAN)

B := build
# The image job is a library of its own, libwarden-image.a, linked only
# into what runs it (IMAGE_USERS), so that libwarden.a and the programs
# built on it need no image library.
IMAGE_SRC := $(wildcard jobs/image*.c)
IMAGE_OBJ := $(IMAGE_SRC:%.c=$(B)/%.o)
IMAGE_LIBS := -ljpeg -lspng -lseccomp -lstb -lm
PIXEL_LIBS := -ljpeg -lspng -lstb -lm
LIB_SRC := $(filter-out $(IMAGE_SRC),$(wildcard proc/*.c worker/*.c pool/*.c jobs/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
TESTS   := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/test_*.c))
EXAMPLES:= $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))
BENCHES := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
FUZZ_TARGETS := frame parse lines resize
REPLAYS := $(addprefix $(B)/fuzz/replay_,$(FUZZ_TARGETS))

CLI_SRC := $(wildcard cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(B)/%.o)
# Two programs: warden (exec, run) and warden-resize, which `warden resize`
# execs, so that only resize loads the image libraries (cli/main.c).
CLI_COMMON := $(addprefix $(B)/cli/,common.o parse.o json.o joblog.o batch.o) \
              $(filter $(B)/cli/opts%,$(CLI_OBJ))
WARDEN_OBJ := $(addprefix $(B)/cli/,main.o exec.o template.o template_expand.o) \
              $(filter $(B)/cli/run%,$(CLI_OBJ)) $(CLI_COMMON)
RESIZE_OBJ := $(filter $(B)/cli/resize%,$(CLI_OBJ)) $(CLI_COMMON)
# The CLI's parts without a main(), for unit tests (tests/test_cli_opts.c).
CLI_LIB    := $(B)/libwarden-cli.a
PROGRAMS   := $(B)/warden $(B)/warden-resize

# Who links the image job (with its libraries), and who only makes or
# checks image files with stb, libjpeg and libspng (tests/images.h).
IMAGE_USERS := $(B)/warden-resize $(B)/tests/test_resize $(B)/tests/test_decode \
  $(B)/fuzz/replay_resize
PIXEL_USERS := $(addprefix $(B)/tests/,test_attack test_chaos test_cli test_examples test_resample \
                 test_geometry) \
               $(addprefix $(B)/examples/,images mkimages)
$(IMAGE_USERS): $(B)/libwarden-image.a
$(IMAGE_USERS): private IMAGE_LINK = $(B)/libwarden-image.a $(IMAGE_LIBS)
$(PIXEL_USERS): private IMAGE_LINK = $(PIXEL_LIBS)

.PHONY: bench-ab all deps test unit-tests test-asan test-valgrind fuzz soak demo bench clean examples install uninstall test-install man libs
all: $(PROGRAMS) $(B)/libwarden.a $(B)/libwarden-image.a libs man examples

$(DEPS): scripts/deps.sh
	@mkdir -p $(dir $(DEPS))
	@scripts/deps.sh build-essential pkg-config libuv1-dev check libstb-dev \
	  libjpeg62-turbo-dev libspng-dev libseccomp-dev curl scdoc
	@touch $@

$(B)/%.o: %.c $(DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $$(pkg-config --cflags libuv stb) -c -o $@ $<

# (Made afresh each time: ar would keep the members of files that moved.)
$(B)/libwarden.a: $(LIB_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

$(B)/libwarden-image.a: $(IMAGE_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

$(B)/warden: $(WARDEN_OBJ) $(B)/libwarden.a
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $(WARDEN_OBJ) $(B)/libwarden.a \
	  $$(pkg-config --libs libuv) -lpthread -lm

$(B)/warden-resize: $(RESIZE_OBJ) $(B)/libwarden.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(RESIZE_OBJ) $(IMAGE_LINK) $(B)/libwarden.a \
	  $$(pkg-config --libs libuv) $(LDLIBS)

$(CLI_LIB): $(filter-out $(B)/cli/main.o $(B)/cli/resize_main.o,$(CLI_OBJ))
	rm -f $@ && $(AR) rcs $@ $^

$(B)/tests/%: tests/%.c tests/helpers.h $(B)/libwarden.a $(CLI_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DWD_BIN='"$(B)/warden"' -DWD_EXAMPLES='"$(B)/examples"' \
	  $$(pkg-config --cflags check libuv stb) \
	  $(LDFLAGS) -o $@ $< $(CLI_LIB) $(IMAGE_LINK) $(B)/libwarden.a \
	  $$(pkg-config --libs check libuv) $(LDLIBS)

# test_faults makes the N-th allocation fail: the library's calls to
# malloc, calloc and realloc go to wrappers the test defines (libuv and
# libc are shared libraries and keep the real ones).
$(B)/tests/test_faults: override LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc

$(B)/examples/%: examples/%.c $(B)/libwarden.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $$(pkg-config --cflags libuv stb) $(LDFLAGS) -o $@ $< $(IMAGE_LINK) \
	  $(B)/libwarden.a $$(pkg-config --libs libuv) $(LDLIBS)

$(B)/bench/%: bench/%.c $(B)/libwarden.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $$(pkg-config --cflags libuv stb) $(LDFLAGS) -o $@ $< $(B)/libwarden.a $$(pkg-config --libs libuv) $(LDLIBS)

examples: $(PROGRAMS) $(EXAMPLES) # the scripts among them drive warden

# make test = the unit and end-to-end tests, make install checked in a
# temporary tree, then the same tests under ASan + UBSan, then the core
# tests under valgrind's memcheck.  make test T=NAME runs only the suite
# NAME (tests/test_NAME.c) or the cases called NAME (tests/run.sh), in
# the plain build; make test-asan T=NAME and make test-valgrind T=NAME run
# the same selection in theirs.  A NAME no test has fails.
test: unit-tests $(if $(T),,test-install test-asan test-valgrind)

unit-tests: $(PROGRAMS) $(TESTS) examples $(REPLAYS)
	@failed=0; T='$(T)' tests/run.sh $(TESTS) || failed=1; \
	[ -n '$(T)' ] || for t in $(FUZZ_TARGETS); do \
	  set -- fuzz/regressions/$$t/*; [ -e "$$1" ] || continue; \
	  echo "== replay $$t: $$# saved fuzzer inputs"; $(B)/fuzz/replay_$$t "$$@" || failed=1; \
	done; exit $$failed

# The fuzz targets' saved inputs, replayed without libFuzzer.
$(B)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/replay.c $(B)/libwarden.a $(B)/cli/parse.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $$(pkg-config --cflags libuv stb) $(LDFLAGS) -o $@ $< fuzz/replay.c \
	  $(B)/cli/parse.o $(IMAGE_LINK) $(B)/libwarden.a $$(pkg-config --libs libuv) $(LDLIBS)

# Any report fails the run (halt_on_error; UBSan does not recover).  A
# crashing task must still die of its signal (the tests check the status),
# so ASan leaves SIGSEGV, SIGBUS and SIGFPE alone.  A sanitized build sets
# no address-space limit and no seccomp filter (ASan's shadow memory and
# its reports need them): the tests of those two skip there.
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
test-asan:
	@ASAN_OPTIONS=halt_on_error=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:detect_leaks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	$(MAKE) --no-print-directory B=build-asan SAN="$(SANFLAGS)" CFLAGS="-O1 -g" unit-tests

# memcheck on the tests whose code runs in the test process without a
# pool: frames, buffers, the registry, names (test_proto) and the CLI's
# parsers (test_cli, whose `warden` runs natively: valgrind follows no
# child).  Valgrind 3.19 (Debian 12) does not implement pidfd_open
# (syscall 434), on which the pool is built, so pool code is covered by
# the ASan + UBSan + LeakSanitizer run instead.
VG_TESTS := test_proto test_cli
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
test-valgrind: $(addprefix $(B)/tests/,$(VG_TESTS))
	@scripts/deps.sh valgrind
	@CK_FORK=no T='$(T)' WRAP='$(VALGRIND)' tests/run.sh $(addprefix $(B)/tests/,$(VG_TESTS))

# The main job on an embedded default: make a folder of images, thumbnail
# it on every core (two files are bad on purpose: two failed rows).
demo: $(PROGRAMS) $(B)/examples/mkimages
	@$(B)/examples/mkimages $(B)/demo/images
	@$(B)/warden resize --progress -w 256 -H 256 $(B)/demo/images -o $(B)/demo/thumbs \
	  || test $$? -le 101
	@echo "demo: thumbnails in $(B)/demo/thumbs (inputs in $(B)/demo/images)"

bench: all $(BENCHES)
	@scripts/deps.sh python3 python3-pebble python3-pil python3-numpy parallel moreutils \
	  libvips-tools imagemagick time
	bench/run.sh

# make bench-ab BASE=REV: this tree against commit REV in the same run --
# pool dispatch, wd_map, run -j2, exec overshoot (bench/ab.sh) -- for a
# change that must not cost speed.
bench-ab: $(B)/warden $(B)/bench/bench_pool
	@test -n "$(BASE)" || { echo "usage: make bench-ab BASE=<commit>" >&2; exit 2; }
	@rm -rf $(B)/base && mkdir -p $(B)/base && git archive $(BASE) | tar -x -C $(B)/base
	@$(MAKE) --no-print-directory -C $(B)/base build/warden build/bench/bench_pool >/dev/null
	bench/ab.sh $(B)/base/build $(B) $(ROUNDS)

# make fuzz: the libFuzzer targets (clang; fuzz/*.c), each run for
# FUZZ_TIME seconds from a seed corpus fuzz/seeds.c generates.  A crash
# stops the run; its input lands in fuzz/regressions/TARGET/, which
# make test replays (fuzz/replay.c) once it is fixed and committed.
FUZZ_TIME    ?= 60
FZ           := build-fuzz
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -std=c11 -D_GNU_SOURCE -DWD_NO_SANDBOX -Iinclude
FUZZ_SRC     := $(LIB_SRC) cli/parse.c

fuzz: $(DEPS) $(addprefix $(FZ)/fuzz_,$(FUZZ_TARGETS)) $(FZ)/seeds
	@rm -rf $(FZ)/seed-corpus && $(FZ)/seeds $(FZ)/seed-corpus
	@for t in $(FUZZ_TARGETS); do mkdir -p $(FZ)/corpus/$$t fuzz/regressions/$$t; \
	  echo "== fuzz $$t ($(FUZZ_TIME) s)"; \
	  $(FZ)/fuzz_$$t -max_total_time=$(FUZZ_TIME) -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=fuzz/regressions/$$t/ $(FZ)/corpus/$$t $(FZ)/seed-corpus/$$t \
	    > $(FZ)/$$t.log 2>&1; rc=$$?; \
	  grep -E '^stat::(number_of_executed_units|new_units_added)' $(FZ)/$$t.log; \
	  test $$rc -eq 0 || { tail -40 $(FZ)/$$t.log; exit 1; }; \
	done

$(FZ)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_SRC) $(DEPS)
	@scripts/deps.sh clang libclang-rt-14-dev
	@mkdir -p $(FZ)
	clang $(FUZZ_CFLAGS) $$(pkg-config --cflags libuv stb) -o $@ $< $(FUZZ_SRC) \
	  $(FUZZ_IMAGE) $$(pkg-config --libs libuv) $(LDLIBS)

$(FZ)/fuzz_resize: $(IMAGE_SRC)
$(FZ)/fuzz_resize: private FUZZ_IMAGE = $(IMAGE_SRC) $(IMAGE_LIBS)

$(FZ)/seeds: fuzz/seeds.c tests/images.h $(DEPS)
	@mkdir -p $(FZ)
	$(CC) $(CFLAGS) $$(pkg-config --cflags stb) -o $@ $< $(PIXEL_LIBS)

# make soak: 100,000 library tasks and 20,000 commands; memory and fds
# must stay flat (bench/soak.sh prints the figures).
soak: $(PROGRAMS) $(B)/bench/bench_pool
	bench/soak.sh

# ---- libraries for C programs, man pages, install -------------------------
# Beside the static libraries, shared ones with a soname (libwarden.so.0),
# built from position-independent objects of their own ($(B)/pic/) and
# exporting only the public wd_ API (warden.sym).  The soname's number is
# the major of WD_VERSION in include/warden.h.
VERSION   := $(shell sed -n 's/.*WD_VERSION "\(.*\)".*/\1/p' include/warden.h)
SOMAJOR   := $(firstword $(subst ., ,$(VERSION)))
PIC_OBJ   := $(LIB_SRC:%.c=$(B)/pic/%.o)
IMAGE_PIC_OBJ := $(IMAGE_SRC:%.c=$(B)/pic/%.o)
SHARED    := $(B)/libwarden.so.$(VERSION) $(B)/libwarden-image.so.$(VERSION)
STATIC    := $(B)/libwarden.a $(B)/libwarden-image.a
libs: $(STATIC) $(SHARED)

$(B)/pic/%.o: %.c $(DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC $$(pkg-config --cflags libuv stb) -c -o $@ $<

$(B)/libwarden.so.$(VERSION): $(PIC_OBJ)
$(B)/libwarden.so.$(VERSION): private SO_LIBS = $$(pkg-config --libs libuv) -lpthread -lm
$(B)/libwarden-image.so.$(VERSION): $(IMAGE_PIC_OBJ) $(B)/libwarden.so.$(VERSION)
$(B)/libwarden-image.so.$(VERSION): private SO_LIBS = -L$(B) -lwarden $(IMAGE_LIBS)
# The links a build tree needs too: libNAME.so.0 for the loader,
# libNAME.so for `cc -lNAME`.
$(SHARED): warden.sym
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,--no-undefined -Wl,--as-needed \
	  -Wl,-soname,$(patsubst %.$(VERSION),%.$(SOMAJOR),$(notdir $@)) \
	  -Wl,--version-script=warden.sym -o $@ $(filter %.o,$^) $(SO_LIBS)
	ln -sf $(notdir $@) $(patsubst %.$(VERSION),%.$(SOMAJOR),$@)
	ln -sf $(patsubst %.$(VERSION),%.$(SOMAJOR),$(notdir $@)) $(patsubst %.$(VERSION),%,$@)

# make man: the man pages (man/*.scd, scdoc) into $(B)/man/, each
# saying the version of include/warden.h, whatever its source says.
MAN_SRC := $(wildcard man/*.scd)
MANS    := $(MAN_SRC:man/%.scd=$(B)/man/%)
man: $(MANS)
$(B)/man/%: man/%.scd include/warden.h $(DEPS)
	@mkdir -p $(dir $@)
	sed '1s/"warden [0-9.]*"/"warden $(VERSION)"/' $< | scdoc > $@.tmp && mv $@.tmp $@

# make install [PREFIX=/usr/local] [DESTDIR=] [LIBDIR=] [MANDIR=]: the
# program, its resize helper where warden looks for it (../libexec/warden/
# from bin/), the headers, the static and shared libraries with their
# pkg-config files -- a C program builds with
# `cc app.c $$(pkg-config --cflags --libs warden)` -- and the man pages.
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
MANDIR  ?= $(PREFIX)/share/man
PC_SED   = -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
           -e 's|@VERSION@|$(VERSION)|' -e 's|@IMAGE_LIBS@|$(IMAGE_LIBS)|'
install: $(PROGRAMS) $(STATIC) $(SHARED) $(MANS)
	install -D -m 755 $(B)/warden $(DESTDIR)$(PREFIX)/bin/warden
	install -D -m 755 $(B)/warden-resize $(DESTDIR)$(PREFIX)/libexec/warden/warden-resize
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(LIBDIR)/pkgconfig \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(wildcard include/*.h) $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	for so in $(notdir $(SHARED)); do \
	  ln -sf $$so $(DESTDIR)$(LIBDIR)/$${so%.$(VERSION)}.$(SOMAJOR) && \
	  ln -sf $${so%.$(VERSION)}.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/$${so%.$(VERSION)} || exit 1; \
	done
	for pc in warden warden-image; do \
	  sed $(PC_SED) $$pc.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/$$pc.pc || exit 1; \
	done
	install -m 644 $(filter %.1,$(MANS)) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(filter %.3,$(MANS)) $(DESTDIR)$(MANDIR)/man3/
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig || true; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/warden $(addprefix $(DESTDIR)$(PREFIX)/include/,$(notdir $(wildcard include/*.h)))
	rm -rf $(DESTDIR)$(PREFIX)/libexec/warden
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,$(notdir $(STATIC)) libwarden.so* libwarden-image.so*)
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/warden.pc $(DESTDIR)$(LIBDIR)/pkgconfig/warden-image.pc
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(filter %.1,$(MANS)))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(filter %.3,$(MANS))))

# make test-install: make install into a temporary DESTDIR, then build and
# run C programs against the installed tree alone, through pkg-config
# (tests/install.sh).
test-install: $(PROGRAMS) $(STATIC) $(SHARED) $(MANS)
	@echo "== tests/install.sh"
	@MAKE="$(MAKE)" B="$(B)" tests/install.sh

clean:
	rm -rf $(B) build-asan $(FZ)

-include $(LIB_OBJ:.o=.d) $(IMAGE_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(PIC_OBJ:.o=.d) $(IMAGE_PIC_OBJ:.o=.d)
