package machine

import (
	"time"

	"github.com/vmmlab/vmm/kvm"
)

// buildStep is one named part of building a machine.
type buildStep struct {
	name string
	do   func() error
}

// build opens KVM, creates the VM and its platform and guest RAM, then
// does steps, timing each from c.Start (SetupSteps) and calling
// after[name], if any, once a step is done.
func (m *Machine) build(c Config, after map[string]func(), steps ...buildStep) error {
	first := []buildStep{
		{"kvm", func() (err error) {
			if m.sys, err = kvm.Open(c.Device); err == nil {
				m.vm, err = m.sys.CreateVM()
			}
			return err
		}},
		{"platform", m.createPlatform},
		{"memory", func() error {
			if c.memoryFile != nil {
				return m.mapMemoryFile(c.memoryFile, c)
			}
			return m.createMemory(c)
		}},
	}
	for _, st := range append(first, steps...) {
		if err := st.do(); err != nil {
			return err
		}
		m.steps = append(m.steps, Step{st.name, time.Since(c.Start)})
		if f := after[st.name]; f != nil {
			f()
		}
	}
	return nil
}
