#!/bin/busybox sh
# /init of the lab's outer guest (QEMU TCG, emulated AMD CPU with SVM).
# Loads the KVM modules, then runs every test binary under /lab/tests with
# -test.v=test2json, then powers off. What it does goes to the second
# serial port (ttyS1) as events (package lab/labproto): its own, through
# /lab/labevent, and the tests', through /lab/testwatch. The console
# (ttyS0) is for people.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/usr/sbin
# make bench: move the root from the initramfs onto a tmpfs first, as a
# distribution's initramfs does, so that runtimes that pivot_root (runsc's
# sandbox, runc, crun, docker) run as they do on a real host.
if [ "$$" = 1 ] && [ -z "$LAB_STAGE2" ] && grep -q "^export LAB_BENCH_ARGS=" /lab/env; then
  mkdir -p /newroot && mount -t tmpfs -o size=95% root /newroot
  for d in $(ls -A /); do
    case $d in proc|sys|dev|newroot) mkdir -p "/newroot/$d" ;; *) cp -a "/$d" /newroot/ ;; esac
  done
  export LAB_STAGE2=1
  exec switch_root /newroot /init
fi
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mkdir -p /run && mount -t tmpfs run /run
stty -F /dev/ttyS1 raw -echo 2>/dev/null || echo "lab: no events channel (/dev/ttyS1)"
ev() { /lab/labevent --to /dev/ttyS1 "$@"; }
fail() { echo "lab: $*"; ev lab-error --detail "$*"; }
# cgroup v2, as on a systemd host, with the controllers containers use
mount -t cgroup2 cgroup2 /sys/fs/cgroup &&
  echo "+cpu +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control ||
  fail "cgroup2 set-up failed"
# The outer kernel runs quiet, so the stack of a soft lockup or an oops
# stays in its log, below the console's level (a panic alone prints it).
# Copy such reports to the console as KMSG lines, so that a run that hung
# or crashed shows where the outer kernel was; so are the kernel's own
# reports of blocked tasks and CPUs (sysrq) that testwatch asks for when a
# test binary hangs.
cat /dev/kmsg | awk -F';' '/soft lockup|BUG:|Oops|general protection|WARNING: CPU|blocked for more than/ { n = 80 }
  /sysrq: / { n = 400 }
  n > 0 { print "KMSG " $2; fflush(); n-- }' &
. /lab/env
ev lab-booted
# modules.order: one module per line, then its parameters
while read -r m params; do
  insmod "/lab/mod/$m" $params || fail "insmod $m $params failed"
done </lab/modules.order
# the assets too large for the initramfs (read-only), and a scratch disk
# for the image store, docker's and containerd's roots
if [ -b /dev/vda ]; then
  mkdir -p /lab/assets && mount -o ro /dev/vda /lab/assets || fail "mount the assets disk"
fi
if [ -b /dev/vdb ]; then
  mkdir -p /var/lib && mount /dev/vdb /var/lib || fail "mount the scratch disk"
fi
if [ -c /dev/kvm ]; then
  # the emulated CPU's SVM features, and kvm_amd's use of vGIF
  svm=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -x -E 'npt|nrip_save|vgif|v_vmsave_vmload|lbrv|pausefilter|tsc_scale' | tr '\n' ,)
  kvm="nx_huge_pages=$(cat /sys/module/kvm/parameters/nx_huge_pages) vgif=$(cat /sys/module/kvm_amd/parameters/vgif) svm=${svm%,} cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  echo "lab: /dev/kvm is ready: $kvm"
  ev lab-kvm --detail "$kvm"
else
  fail "no /dev/kvm after loading modules"
  dmesg | grep -iE 'kvm|svm' | tail -5
fi
# The tests trace KVM's exits (e2e writes out a guest's triple fault with
# the exits before it). The events are switched on here, once, before any
# test runs, and stay on: switching a tracepoint patches kernel text on
# every CPU, and doing that between tests hung the emulated outer kernel
# (one CPU stuck 100 s in e2e.test, RCU stalled on the other). Not for
# the bench, whose timings tracing would change.
if ! grep -q "^export LAB_BENCH_ARGS=" /lab/env; then
  t=/sys/kernel/tracing
  [ -e $t/trace ] || mount -t tracefs tracefs $t
  echo 8192 >$t/buffer_size_kb
  for e in kvm_exit kvm_inj_exception kvm_inj_virq kvm_page_fault kvm_userspace_exit; do
    echo 1 >$t/events/kvm/$e/enable || fail "tracing $e"
  done
  # A trace instance of its own keeps every triple fault of the whole run,
  # which the busy main buffer overwrites within seconds under 20 VMs:
  # SVM shutdown exits (0x7f), KVM_EXIT_SHUTDOWN (8) exits to the VMM, and
  # the exceptions KVM injected, each with its process (record-tgid), so a
  # test can tell a VM's fault from the hardware's (an SVM shutdown exit)
  # from one KVM made itself (a shutdown exit to the VMM with none).
  f=$t/instances/faults
  mkdir -p $f && echo 1024 >$f/buffer_size_kb && echo 1 >$f/options/record-tgid &&
    echo 'exit_reason == 127' >$f/events/kvm/kvm_exit/filter &&
    echo 'reason == 8' >$f/events/kvm/kvm_userspace_exit/filter &&
    for e in kvm_exit kvm_userspace_exit kvm_inj_exception; do echo 1 >$f/events/kvm/$e/enable; done &&
    echo 1 >$f/tracing_on || fail "tracing faults"
  echo 1 >$t/tracing_on
  # An event a minute while the outer guest runs: vmm-lab tells a hung
  # outer guest (silent, heartbeat gone: booted again) from a test that is
  # only quiet (go test's timeout ends it). Not for the bench.
  ev lab-alive
  while sleep 60; do ev lab-alive; done &
fi
# Keep one VM open for the whole run (see cmd/kvmpin).
[ -x /lab/kvmpin ] && { /lab/kvmpin & }
# make bench: run the benchmark instead of the tests and send its
# results.json back as an event.
if [ -n "$LAB_BENCH_ARGS" ]; then
  /lab/vmm bench all --assets /lab/bench --vmm /lab/vmm --kernel /lab/bzImage-micro --stock-kernel /lab/bzImage \
    --nested --out /tmp/bench-out $LAB_BENCH_ARGS </dev/null 2>&1
  ev lab-bench --exit $?
  [ -f /tmp/bench-out/results.json ] && ev lab-file --file results.json=/tmp/bench-out/results.json
  ev lab-done
  poweroff -f
fi
# After an earlier boot of this run went down (see lab/resume.go), the
# kernel command line names the binaries that finished (LAB_DONE_BINARIES)
# and, in the one that was running, the tests that finished
# (LAB_RESUME_SKIP): this boot goes on with the rest. testwatch sends the
# tests' events; the console gets their plain -test.v output.
for t in /lab/tests/*; do
  name=${t##*/}
  case ",$LAB_DONE_BINARIES," in *",$name,"*)
    echo "lab: $name finished in an earlier boot"
    ev lab-skipped --package "$name"
    continue ;;
  esac
  skip=
  [ "$name" = "$LAB_RESUME_BINARY" ] && skip=$LAB_RESUME_SKIP
  echo "lab: $name begins"
  ev lab-begin --package "$name"
  run=$LAB_TEST_RUN
  [ -z "$run" ] && [ -f "/lab/runs/$name" ] && run=$(cat "/lab/runs/$name")
  # testwatch stops a binary whose output stops for LAB_TEST_STALL
  # seconds (a hung test) and shows where every process was first.
  (cd /tmp && timeout "$LAB_TEST_TIMEOUT" /lab/testwatch --stall "${LAB_TEST_STALL}s" --name "$name" \
    --events /dev/ttyS1 --test2json /lab/test2json -- \
    "$t" -test.v=test2json -test.timeout "${LAB_TEST_TIMEOUT}s" ${run:+-test.run "$run"} ${skip:+-test.skip "$skip"} </dev/null 2>&1)
  rc=$?
  echo
  echo "lab: $name exit status $rc"
  ev lab-end --package "$name" --exit $rc
  # A test binary stopped by its time limit leaves its VMs running: they
  # would load the next binary's tests (once, 18 VMs then starved a KVM
  # test into a soft lockup). Stop them, and say so.
  left=$(pidof vmm qemu-system-x86_64)
  if [ -n "$left" ]; then
    echo "lab: $name left processes behind: $left (killed)"
    ev lab-left --package "$name" --detail "$left"
    kill -9 $left
  fi
done
ev lab-done
poweroff -f
