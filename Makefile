# The two entry points: `make run` and `make test`. Both install what is
# missing first and are safe to repeat.

CARGO ?= cargo
CAIRN := target/release/cairn
EXAMPLE ?= examples/minimal.yml

.PHONY: run test deps build lint unit bench clean

deps:
	@scripts/install-deps

build: deps
	$(CARGO) build --release --locked -p cairn

# The furthest step of the pipeline that works today: validate the example,
# then resolve and verify its images against the local store (no registry
# needed; images not built yet are listed as missing).
run: build
	$(CAIRN) validate $(EXAMPLE)
	$(CAIRN) build --dry-run --offline $(EXAMPLE)

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

unit: deps
	$(CARGO) test --locked --workspace

test: lint unit

# Slow tests, not run by `make test`: compiles Linux from Debian's source for
# amd64 and arm64 (pkg/kernel-cairn; installs the kernel's build dependencies,
# cached by configuration under ~/.cache/cairn/kernel-cairn).
.PHONY: test-slow
test-slow: deps
	$(CARGO) test --locked -p cairn --test kernel_cairn -- --ignored --test-threads=1

clean:
	$(CARGO) clean
