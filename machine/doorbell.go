package machine

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/kvm"
)

// doorbeller is a virtio transport whose queue notifications can bypass
// vmm: KVM signals an eventfd on the doorbell write (ioeventfd) and a
// goroutine passes it on, so the vCPU does not exit to user space.
type doorbeller interface {
	Doorbells(base uint64) []virtio.Doorbell
	Notify(queue int)
}

// newEventFD returns a non-blocking eventfd as a file, so reads park on
// the runtime's poller and Close wakes them, and its descriptor for KVM
// (File.Fd would switch the file to blocking mode).
func newEventFD() (*os.File, int, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, 0, fmt.Errorf("eventfd: %w", err)
	}
	return os.NewFile(uintptr(fd), "eventfd"), fd, nil
}

// wireDoorbells registers an ioeventfd for each of t's doorbells (when
// KVM has them; otherwise the writes keep exiting to the MMIO bus, which
// works the same, slower). Machine.Close undoes it.
func (m *Machine) wireDoorbells(name string, t doorbeller, base uint64) error {
	if n, err := m.vm.CheckExtension(kvm.CapIOEventFD); err != nil || n == 0 {
		return nil
	}
	for _, d := range t.Doorbells(base) {
		f, fd, err := newEventFD()
		if err != nil {
			return err
		}
		ev := kvm.IOEvent{Addr: d.Addr, Len: d.Len, FD: fd, Datamatch: d.Match}
		if err := m.vm.AddIOEventFD(ev); err != nil {
			f.Close()
			return err
		}
		m.closers = append(m.closers, func() error {
			err := m.vm.RemoveIOEventFD(ev)
			f.Close() // ends the goroutine below
			return err
		})
		go func(q int) {
			var buf [8]byte
			for {
				if _, err := f.Read(buf[:]); err != nil {
					return // closed with the machine
				}
				if m.tr != nil {
					m.tr.Instant(doorbellThread, "virtio", fmt.Sprintf("%s queue %d", name, q), time.Now())
				}
				t.Notify(q)
			}
		}(d.Queue)
	}
	return nil
}
