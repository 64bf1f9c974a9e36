# vmm: build, unit tests, and the nested-KVM lab.
GO      ?= go
APT_DEPS = qemu-system-x86 busybox-static cpio xz-utils e2fsprogs gcc libc6-dev git ca-certificates crun runc \
	   make bc bison flex libelf-dev libssl-dev lz4 linux-source-6.12 \
	   runsc docker.io acpica-tools mmdebstrap

# vmm's Go heap stays off transparent huge pages (GODEBUG disablethp=1 as
# the binary's default): with THP "always", a VM process's heap otherwise
# grows by megabytes of huge pages. The lab builds vmm the same way.
VMM_LDFLAGS = -X=runtime.godebugDefault=disablethp=1 -X=main.heapTHPOff=1

.PHONY: all build initramfs test e2e check deps kernel microkernel images fuzz bench clean

## all: binaries, the Debian guest kernel, and the default initramfs
all: build initramfs

## build: bin/vmm (the VM process), bin/vmm-bench and bin/vmm-tools (the commands vmm hands on),
## bin/vmm-init (static, the guest init) and bin/vmm-lab
build:
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=auto -ldflags="$(VMM_LDFLAGS)" -o bin/vmm ./cmd/vmm
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/vmm-bench ./cmd/vmm-bench
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/vmm-tools ./cmd/vmm-tools
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o bin/vmm-init ./cmd/vmm-init
	$(GO) build -o bin/vmm-lab ./cmd/vmm-lab

## initramfs: bin/initramfs.cpio.gz, the image vmm boot uses without --initrd, and bin/bzImage,
## the Debian kernel it carries the modules of (vmm run's kernel when there is no minimal one)
initramfs: build
	mkdir -p build && ./bin/vmm-lab kernel >build/kernel.txt
	./bin/vmm initramfs build -o bin/initramfs.cpio.gz --modules-from "$$(awk '/^modules/ {print $$2}' build/kernel.txt)"
	cp "$$(awk '/^bzImage/ {print $$2}' build/kernel.txt)" bin/bzImage

## test: vet, gofmt, unit tests with the race detector (KVM tests skip here)
test:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) test -race -count=1 ./...

## e2e: every *_lab_test.go test, for real, inside a QEMU TCG guest with nested KVM
e2e:
	$(GO) build -o bin/vmm-lab ./cmd/vmm-lab
	./bin/vmm-lab run

## bench: vmm bench all (microVMs, containers, processes side by side) where KVM is: natively
## with /dev/kvm, otherwise in the nested lab; the report goes to build/bench
bench:
	$(GO) build -o bin/vmm-lab ./cmd/vmm-lab
	./bin/vmm-lab bench

## check: unit tests, then the lab (never both at once: the lab needs both cores)
check: test e2e

## deps: what a fresh Debian 12 machine needs (run as root); Go 1.26 must be on PATH
deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_DEPS)
	$(GO) mod download

## kernel: fetch and unpack the Debian guest kernel (cached in ~/.cache/vmm/kernels)
kernel:
	$(GO) build -o bin/vmm-lab ./cmd/vmm-lab
	./bin/vmm-lab kernel

## microkernel: build vmm's minimal guest kernel (virtio-mmio, no modules; cached in ~/.cache/vmm/kbuild)
## and put it in bin/bzImage-micro, where vmm run looks first
microkernel:
	mkdir -p bin
	cp "$$(guestkernel/build.sh | tail -1)" bin/bzImage-micro

## images: the application images from Debian packages (vmm.local/debian:12, redis, nginx, busybox)
## as docker save tarballs, built once per package versions (in ~/.cache/vmm/images); prints their paths
images:
	$(GO) build -o bin/vmm-lab ./cmd/vmm-lab
	./bin/vmm-lab images

## fuzz: a short run of every fuzz target
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 15s $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin build
