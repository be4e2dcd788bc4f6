# The two entry points: `make run` and `make test`. Both install what is
# missing first and are safe to repeat.

CARGO ?= cargo
# cairn as it ships: one static (musl) binary.
STATIC_TARGET := x86_64-unknown-linux-musl
CAIRN := target/$(STATIC_TARGET)/release/cairn
# The same binary for arm64 hosts (a Raspberry Pi, an arm64 build server).
ARM64_TARGET := aarch64-unknown-linux-musl
CAIRN_ARM64 := target/$(ARM64_TARGET)/release/cairn
EXAMPLE ?= examples/minimal.yml

.PHONY: run test deps build lint unit test-vm bench clean install

deps:
	@scripts/install-deps

build: deps
	$(CARGO) build --release --locked --target $(STATIC_TARGET) -p cairn
	@file $(CAIRN) | grep -q 'static' || { echo "$(CAIRN) is not statically linked"; exit 1; }
	$(CARGO) build --release --locked --target $(ARM64_TARGET) -p cairn
	@file $(CAIRN_ARM64) | grep -q 'ARM aarch64.*statically linked' || { echo "$(CAIRN_ARM64) is not a static arm64 binary"; exit 1; }

# Builds the example into out/ as a UEFI disk (GPT, UKI, dm-verity root) from
# the local store and boots it in QEMU with OVMF and a software TPM (Ctrl-A X
# quits). Packages the example names (and the UEFI stub) are built into the
# store first when missing; the init always, so the current cairn-init boots.
OUT ?= out
run: build
	@for p in systemd-stub $$(grep -o 'cairn/[a-z0-9-]*' $(EXAMPLE) | sort -u | cut -d/ -f2); do \
		if [ "$$p" = init ] || ! $(CAIRN) images | grep -q "^docker.io/cairn/$$p:latest "; then \
			$(CAIRN) pkg build pkg/$$p || exit 1; \
		fi; \
	done
	$(CAIRN) build --offline -o $(OUT) $(EXAMPLE)
	$(CAIRN) run qemu --tpm $(OUT)/$(basename $(notdir $(EXAMPLE)))-efi.raw

# Build time, initrd size and boot timeline of examples/minimal.yml; the
# numbers go into docs/benchmarks.md by hand.
bench: build
	$(CARGO) test --locked -p cairn-qemu-tests --test bench -- --ignored --nocapture
	$(CARGO) test --release --locked -p cairn-qemu-tests --test bench_disk -- --ignored --nocapture --test-threads=1

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

# Tests that boot nothing: every crate but tests/qemu (the builder's CLI
# tests run host tools such as veritysetup and sgdisk on cairn's output, and
# `cairn run qemu` only up to where it would start QEMU).
unit: build
	CAIRN_ARM64_BIN=$(abspath $(CAIRN_ARM64)) $(CARGO) test --locked --workspace --exclude cairn-qemu-tests

# Tests that boot: tests/qemu builds systems with the static binary and
# boots them in QEMU (TCG, OVMF/AAVMF, swtpm), asserting on the serial
# console. `cargo test --workspace` runs them too.
test-vm: build
	CAIRN_TEST_BIN=$(abspath $(CAIRN)) $(CARGO) test --locked -p cairn-qemu-tests

test: lint unit test-arm64 test-vm

# The builder's CLI tests against the static arm64 binary, run by QEMU's
# user-mode emulator: the same tests pass on both binaries (about 3 minutes).
.PHONY: test-arm64
test-arm64: build
	CAIRN_CLI_BIN=$(abspath $(CAIRN_ARM64)) CAIRN_CLI_RUNNER=$$(command -v qemu-aarch64) $(CARGO) test --locked -p cairn --tests -- --test-threads=2

# Slow tests, not run by `make test`: compiles Linux from Debian's source for
# amd64 and arm64 (pkg/kernel-cairn; installs the kernel's build dependencies,
# cached by configuration under ~/.cache/cairn/kernel-cairn).
.PHONY: test-slow
test-slow: deps
	$(CARGO) test --locked -p cairn --test kernel_cairn -- --ignored --test-threads=1
	$(CARGO) test --locked -p cairn-qemu-tests --test examples --test lifecycle --test disk -- --ignored --test-threads=1
	# The readers of outside input, fuzzed with many more cases than make test runs.
	PROPTEST_CASES=20000 $(CARGO) test --locked -p cairn-boot --test fuzz
	PROPTEST_CASES=20000 $(CARGO) test --locked -p cairn --test fuzz
	PROPTEST_CASES=2000 $(CARGO) test --locked -p cairn --test assemble -- survives

# The static binary, its man pages and shell completions, under PREFIX.
PREFIX ?= /usr/local
install: build
	install -D -m 0755 $(CAIRN) $(DESTDIR)$(PREFIX)/bin/cairn
	$(CAIRN) man $(DESTDIR)$(PREFIX)/share/man/man1
	mkdir -p $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(CAIRN) completions bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/cairn
	$(CAIRN) completions zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_cairn
	$(CAIRN) completions fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/cairn.fish

clean:
	$(CARGO) clean
