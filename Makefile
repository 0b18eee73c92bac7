# diffuse-dse: build, test, install.
#
#   make demo      build (release) and run the demo: the daemon loop on the analytical model
#   make test      install missing Debian packages (.ci/apt-packages.txt), cargo test, check the
#                  example configs and the systemd unit
#   make lint      cargo fmt --check and clippy with warnings as errors
#   make bench     cargo bench
#   make install   binary, systemd unit, /etc/diffuse-dse/config.toml (only if absent), the
#                  diffuse-dse system user; PREFIX=/usr/local, DESTDIR for staging
#   make uninstall remove what install put in place, except the config and the store
#
# A Rust toolchain (cargo, rustc >= 1.95) is assumed; see `make check-cargo` for how to get it.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

# rustup installs into ~/.cargo/bin, which a non-login shell may not have on PATH.
ifneq ($(wildcard $(HOME)/.cargo/bin),)
export PATH := $(HOME)/.cargo/bin:$(PATH)
endif

CARGO ?= cargo
# Where cargo puts its builds (CARGO_TARGET_DIR when set).
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
# PROFILE=debug builds and installs target/debug (used by `make verify-unit`).
PROFILE ?= release
ifeq ($(PROFILE),debug)
CARGO_PROFILE :=
BIN := $(TARGET_DIR)/debug/diffuse-dse
else
CARGO_PROFILE := --profile $(PROFILE)
BIN := $(TARGET_DIR)/$(PROFILE)/diffuse-dse
endif
DEBUG_BIN := $(TARGET_DIR)/debug/diffuse-dse

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(PREFIX)/bin
DOCDIR := $(PREFIX)/share/doc/diffuse-dse
UNITDIR ?= /etc/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
CONFDIR := /etc/diffuse-dse
STATEDIR := /var/lib/diffuse-dse
# The runs folder of config.example.toml and of ReadWritePaths= in the unit.
RUNSDIR ?= /srv/diffuse-dse/runs
SERVICE_USER := diffuse-dse

HASH := \#
APT_PACKAGES ?= $(strip $(shell sed -e 's/$(HASH).*//' .ci/apt-packages.txt))
EXAMPLES := config.example.toml $(wildcard examples/*.toml) $(wildcard examples/*/config.toml)
DEMO_ARGS ?=

.PHONY: build demo test lint bench install uninstall system-deps check-cargo check-cc \
	check-examples verify-unit clean

check-cargo:
	@if ! command -v $(CARGO) >/dev/null 2>&1; then \
		echo "cargo not found. Install a Rust toolchain (>= 1.95) with rustup:"; \
		echo "    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y"; \
		echo "    . \"\$$HOME/.cargo/env\""; \
		echo "then run make again."; \
		exit 1; \
	fi

# rusqlite builds the bundled SQLite with the C compiler.
check-cc:
	@command -v cc >/dev/null 2>&1 || $(MAKE) --no-print-directory system-deps APT_PACKAGES="gcc libc6-dev"

build: check-cargo check-cc
	$(CARGO) build $(CARGO_PROFILE)

demo: check-cargo check-cc
	$(CARGO) build --release
	$(TARGET_DIR)/release/diffuse-dse demo $(DEMO_ARGS)

# Debian packages that are missing, in one `apt-get update` and one `apt-get install -y`
# (sudo only when not root). Without root, sudo or apt-get it says what is missing and goes on.
system-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "Debian packages: all present ($(APT_PACKAGES))"; exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "warning: no apt-get; install these by hand:$$missing"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then sudo="sudo"; \
	else echo "warning: not root and no usable sudo; skipping the Debian packages:$$missing"; exit 0; fi; \
	echo "installing Debian packages:$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	if ! $$sudo apt-get update -q; then echo "warning: apt-get update failed; skipping:$$missing"; exit 0; fi; \
	if ! $$sudo apt-get install -y -q --no-install-recommends $$missing; then \
		echo "warning: apt-get install failed; trying the packages one by one"; \
		for p in $$missing; do $$sudo apt-get install -y -q --no-install-recommends "$$p" || echo "warning: could not install $$p"; done; \
	fi

test: system-deps check-cargo check-cc
	$(CARGO) test
	@$(MAKE) --no-print-directory check-examples verify-unit

# Every shipped config must pass check-config.
check-examples: check-cargo
	$(CARGO) build
	@for f in $(EXAMPLES); do $(DEBUG_BIN) check-config "$$f"; done

# `systemd-analyze verify` of the unit as `make install` puts it in place: staged into a
# temporary root (the binary must exist at its ExecStart= path), with the system's own units
# copied in for the dependencies (sysinit.target, ...). Any warning fails the check.
verify-unit: check-cargo
	@if ! command -v systemd-analyze >/dev/null 2>&1; then \
		echo "skipping verify-unit: systemd-analyze not found (apt-get install systemd)"; exit 0; fi; \
	root=$$(mktemp -d); trap 'rm -rf "$$root"' EXIT; \
	$(MAKE) --no-print-directory install DESTDIR="$$root" PROFILE=debug >/dev/null; \
	sysunits=/usr/lib/systemd/system; [ -d "$$sysunits" ] || sysunits=/lib/systemd/system; \
	mkdir -p "$$root/usr/lib/systemd"; cp -a "$$sysunits" "$$root/usr/lib/systemd/system"; \
	out=$$(systemd-analyze --root="$$root" verify diffuse-dse.service 2>&1) || { echo "$$out"; exit 1; }; \
	if [ -n "$$out" ]; then echo "$$out"; echo "verify-unit: systemd-analyze printed warnings"; exit 1; fi; \
	echo "systemd-analyze verify diffuse-dse.service: ok"

lint: check-cargo
	@if command -v rustup >/dev/null 2>&1; then \
		rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt; \
		rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy; \
	fi
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

bench: check-cargo check-cc
	$(CARGO) bench

# Build as yourself, install as root:  make && sudo make install
# (when root has no cargo, the binary built before is installed).
install:
	@if command -v $(CARGO) >/dev/null 2>&1; then $(CARGO) build $(CARGO_PROFILE); \
	elif [ -x $(BIN) ]; then echo "cargo not found; installing the $(BIN) built before"; \
	else $(MAKE) --no-print-directory check-cargo; fi
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/diffuse-dse
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/bin/diffuse-dse|$(BINDIR)/diffuse-dse|g; s|file:///usr/local/share/doc/diffuse-dse|file://$(DOCDIR)|g' \
		systemd/diffuse-dse.service > $(DESTDIR)$(UNITDIR)/diffuse-dse.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/diffuse-dse.service
	install -D -m 0644 systemd/diffuse-dse.sysusers $(DESTDIR)$(SYSUSERSDIR)/diffuse-dse.conf
	install -d -m 0755 $(DESTDIR)$(CONFDIR) $(DESTDIR)$(CONFDIR)/targets.d
	@if [ -e $(DESTDIR)$(CONFDIR)/config.toml ]; then \
		echo "kept the existing $(DESTDIR)$(CONFDIR)/config.toml (the new example is in $(DOCDIR)/config.example.toml)"; \
	else install -m 0644 config.example.toml $(DESTDIR)$(CONFDIR)/config.toml; \
		echo "installed $(DESTDIR)$(CONFDIR)/config.toml from config.example.toml"; fi
	install -d -m 0755 $(DESTDIR)$(DOCDIR) $(DESTDIR)$(DOCDIR)/examples/targets.d $(DESTDIR)$(DOCDIR)/examples/flows
	install -m 0644 config.example.toml docs/install.md systemd/README.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 examples/targets.d/*.toml $(DESTDIR)$(DOCDIR)/examples/targets.d/
	install -m 0644 examples/*.toml $(DESTDIR)$(DOCDIR)/examples/
	install -m 0755 examples/flows/*.sh $(DESTDIR)$(DOCDIR)/examples/flows/
	install -D -m 0644 examples/synthetic/config.toml $(DESTDIR)$(DOCDIR)/examples/synthetic/config.toml
	install -d -m 0755 $(DESTDIR)$(RUNSDIR)
	@if [ -n "$(DESTDIR)" ]; then \
		echo "DESTDIR set: not creating the $(SERVICE_USER) user nor chowning $(RUNSDIR)"; \
	else \
		if ! getent passwd $(SERVICE_USER) >/dev/null; then \
			if getent group $(SERVICE_USER) >/dev/null; then g="--gid $(SERVICE_USER)"; else g="--user-group"; fi; \
			echo "creating the system user $(SERVICE_USER)"; \
			useradd --system $$g --home-dir $(STATEDIR) --no-create-home --shell /usr/sbin/nologin \
				--comment "diffuse-dse DSE daemon" $(SERVICE_USER); \
		fi; \
		chown $(SERVICE_USER):$(SERVICE_USER) $(RUNSDIR); \
		echo; \
		echo "Installed. Edit $(CONFDIR)/config.toml, check it with"; \
		echo "    $(BINDIR)/diffuse-dse check-config $(CONFDIR)/config.toml"; \
		echo "then start the service:"; \
		echo "    systemctl daemon-reload && systemctl enable --now diffuse-dse"; \
	fi

# Leaves /etc/diffuse-dse (your config), /var/lib/diffuse-dse (the store), the runs folder and
# the user; docs/install.md says how to remove those too.
uninstall:
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null 2>&1; then \
		systemctl disable --now diffuse-dse 2>/dev/null || true; fi
	rm -f $(DESTDIR)$(BINDIR)/diffuse-dse $(DESTDIR)$(UNITDIR)/diffuse-dse.service \
		$(DESTDIR)$(SYSUSERSDIR)/diffuse-dse.conf
	rm -rf $(DESTDIR)$(DOCDIR)
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null 2>&1; then \
		systemctl daemon-reload 2>/dev/null || true; fi

clean:
	$(CARGO) clean
