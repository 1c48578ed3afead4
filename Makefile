# warden -- one entry point.  `make test` on a fresh Debian machine installs
# what is missing, builds everything and runs every test.

CC      ?= cc
WERROR  ?= $(if $(CI),-Werror,)
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wstrict-prototypes $(WERROR) \
           -Iinclude -MMD -MP
DEPS    := build/.deps-ok
PKGS     = $(shell pkg-config --cflags --libs libuv 2>/dev/null)
LDLIBS  := -lstb -ljpeg -lspng -lseccomp -lpthread -lm
# Bind every symbol at start-up (full RELRO): the zygote and each worker
# inherit a resolved GOT instead of each resolving it again, lazily.
LDFLAGS += -Wl,-z,now -Wl,-z,relro

B := build
LIB_SRC := $(wildcard supervisor/*.c pool/*.c jobs/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
TESTS   := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/test_*.c))
EXAMPLES:= $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))
BENCHES := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))

CLI_SRC := $(wildcard cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(B)/%.o)

.PHONY: all deps test demo bench clean examples
all: $(B)/warden $(B)/libwarden.a examples

$(DEPS): scripts/deps.sh
	@mkdir -p $(B)
	@scripts/deps.sh build-essential pkg-config libuv1-dev check libstb-dev \
	  libjpeg62-turbo-dev libspng-dev libseccomp-dev
	@touch $@

$(B)/%.o: %.c $(DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $$(pkg-config --cflags libuv stb) -c -o $@ $<

$(B)/libwarden.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(B)/warden: $(CLI_OBJ) $(B)/libwarden.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libwarden.a $$(pkg-config --libs libuv) $(LDLIBS)

$(B)/tests/%: tests/%.c tests/helpers.h $(B)/libwarden.a $(B)/cli/parse.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $$(pkg-config --cflags check libuv stb) -o $@ $< \
	  $(B)/cli/parse.o $(B)/libwarden.a $$(pkg-config --libs check libuv) $(LDLIBS)

$(B)/examples/%: examples/%.c $(B)/libwarden.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $$(pkg-config --cflags libuv stb) $(LDFLAGS) -o $@ $< $(B)/libwarden.a $$(pkg-config --libs libuv) $(LDLIBS)

$(B)/bench/%: bench/%.c $(B)/libwarden.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $$(pkg-config --cflags libuv stb) $(LDFLAGS) -o $@ $< $(B)/libwarden.a $$(pkg-config --libs libuv) $(LDLIBS)

examples: $(EXAMPLES)

test: $(B)/warden $(TESTS) examples
	@failed=0; for t in $(TESTS); do \
	  echo "== $$t"; $$t || failed=1; \
	done; exit $$failed

# The main job on an embedded default: make a folder of images, thumbnail
# it on every core (two files are bad on purpose: two failed rows).
demo: $(B)/warden $(B)/examples/mkimages
	@$(B)/examples/mkimages $(B)/demo/images
	@$(B)/warden resize --progress -w 256 -H 256 $(B)/demo/images -o $(B)/demo/thumbs \
	  || test $$? -le 101
	@echo "demo: thumbnails in $(B)/demo/thumbs (inputs in $(B)/demo/images)"

bench: all $(BENCHES)
	@scripts/deps.sh python3 python3-pebble python3-pil parallel moreutils \
	  libvips-tools imagemagick
	bench/run.sh

clean:
	rm -rf $(B)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
