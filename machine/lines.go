package machine

import (
	"os"
	"sync"

	"github.com/vmmlab/vmm/kvm"
)

// irqfdLine raises a GSI by writing to an eventfd KVM watches (irqfd):
// one write instead of two KVM_IRQ_LINE calls, and an edge, like irqLine.
type irqfdLine struct{ f *os.File }

func (l irqfdLine) Trigger() error {
	var one [8]byte
	one[0] = 1
	_, err := l.f.Write(one[:])
	return err
}

// lineFor returns the fastest way to pulse gsi: an irqfd when KVM has
// them, else KVM_IRQ_LINE.
func (m *Machine) lineFor(gsi uint32) (interface{ Trigger() error }, error) {
	if n, err := m.vm.CheckExtension(kvm.CapIRQFD); err != nil || n == 0 {
		return irqLine{m.vm, gsi}, nil
	}
	f, fd, err := newEventFD()
	if err != nil {
		return nil, err
	}
	if err := m.vm.AddIRQFD(fd, gsi); err != nil {
		f.Close()
		return nil, err
	}
	m.closers = append(m.closers, func() error {
		err := m.vm.RemoveIRQFD(fd, gsi)
		f.Close()
		return err
	})
	return irqfdLine{f}, nil
}

// sharedLine is a level-triggered GSI that several PCI devices drive:
// it is high while any of them holds it high (wired OR).
type sharedLine struct {
	vm interface {
		SetIRQLine(gsi uint32, high bool) error
	} // *kvm.VM
	gsi uint32
	mu  sync.Mutex
	n   int // devices holding it high
}

// pin is one device's connection to a shared line.
type pin struct {
	l    *sharedLine
	high bool
}

func (p *pin) SetLevel(high bool) error {
	l := p.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if high == p.high {
		return nil
	}
	p.high = high
	was := l.n > 0
	if high {
		l.n++
	} else {
		l.n--
	}
	if now := l.n > 0; now != was {
		return l.vm.SetIRQLine(l.gsi, now)
	}
	return nil
}
