package machine

import "errors"

// openKVMStats opens KVM's statistics of the VM and each vCPU, before the
// seccomp filter would refuse the ioctl; a kernel without them (before
// Linux 5.14) leaves the machine without, and KVMStats says so.
func (m *Machine) openKVMStats() {
	s, err := m.vm.OpenStats()
	if err != nil {
		m.statsErr = err
		return
	}
	m.vmStats = s
	for _, c := range m.cpus {
		s, err := c.OpenStats()
		if err != nil {
			m.statsErr = err
			return
		}
		m.cpuStats = append(m.cpuStats, s)
	}
}

// KVMStats are KVM's own statistics now: the VM's, and the vCPUs' summed
// (exits KVM handled in the kernel, halt polls and wake-ups, injected
// interrupts, page faults...): the half of virtualization vmm never sees.
func (m *Machine) KVMStats() (vm, vcpus map[string]uint64, err error) {
	if m.vmStats == nil {
		if m.statsErr == nil {
			m.statsErr = errors.New("no KVM statistics")
		}
		return nil, nil, m.statsErr
	}
	if vm, err = m.vmStats.Read(); err != nil {
		return nil, nil, err
	}
	vcpus = map[string]uint64{}
	for _, s := range m.cpuStats {
		one, err := s.Read()
		if err != nil {
			return nil, nil, err
		}
		for k, v := range one {
			vcpus[k] += v
		}
	}
	return vm, vcpus, nil
}

// closeKVMStats closes the statistics files.
func (m *Machine) closeKVMStats() error {
	var errs []error
	if m.vmStats != nil {
		errs = append(errs, m.vmStats.Close())
	}
	for _, s := range m.cpuStats {
		errs = append(errs, s.Close())
	}
	m.vmStats, m.cpuStats = nil, nil
	return errors.Join(errs...)
}
