package machine

import (
	"fmt"
	"strings"

	"github.com/vmmlab/vmm/boot"
)

// Explain lists what vmm set up before the guest's first instruction, one
// plain sentence per fact, in the order it happened, from the live values
// (vmm boot --explain).
func (m *Machine) Explain() []string { return append([]string(nil), m.facts...) }

func (m *Machine) note(format string, args ...any) {
	m.facts = append(m.facts, fmt.Sprintf(format, args...))
}

// explainPlatform: the VM and its in-kernel devices.
func (m *Machine) explainPlatform(device string) {
	m.note("Opened %s and created a VM: a KVM file descriptor that owns guest memory, vCPUs and the in-kernel devices.", device)
	m.note("Placed the TSS at %#x and the identity-map page at %#x (three pages Intel VT-x needs for real-mode emulation; nothing else may use them).", tssAddr, identityMap)
	m.note("Created the in-kernel interrupt controllers (two 8259 PICs, an IOAPIC at %#x, a local APIC per vCPU at %#x) and the 8254 timer (PIT): KVM emulates them without exits to vmm.", ioapicAddr, lapicAddr)
}

// explainMemory: guest RAM, its slots, and the memory map the guest sees.
func (m *Machine) explainMemory(e820 []boot.E820Entry) {
	for i, r := range m.mem.Regions() {
		m.note("Guest RAM %#x-%#x (%d MiB) is vmm's host memory at %#x, given to KVM as memory slot %d: the guest's physical address is an offset into it.",
			r.Base, r.End()-1, len(r.Data)>>20, r.HostAddr(), i)
	}
	for _, e := range e820 {
		kind := map[uint32]string{1: "usable RAM", 2: "reserved"}[e.Type]
		if kind == "" {
			kind = fmt.Sprintf("type %d", e.Type)
		}
		m.note("The memory map (e820) the guest reads says %#x-%#x is %s.", e.Addr, e.Addr+e.Size-1, kind)
	}
}

// explainLoad: what went where in guest memory.
func (m *Machine) explainLoad(plan *boot.Plan, initrdSize uint64, tablesSize int) {
	for _, c := range plan.Chunks {
		m.note("Wrote %s at %#x (%d bytes).", c.What, c.Addr, len(c.Data))
	}
	if initrdSize > 0 {
		m.note("Wrote the initramfs at %#x (%d bytes), as high as the kernel allows, and told the kernel where it is.", plan.InitrdAddr, initrdSize)
	}
	m.note("Wrote the ACPI tables (RSDP, XSDT, FADT with the power and reset ports, DSDT with the S5 sleep state and a VM generation ID device, MADT listing the CPUs and the IOAPIC) at %#x (%d bytes).", acpiBase, tablesSize)
	m.note("Wrote a random 16-byte VM generation ID at %#x; a restore from a snapshot writes a new one and raises GSI %d, so a restored guest reseeds its random number generator.", vmgenidAddr, vmgenidGSI)
}

// explainDevices: every device on the port and MMIO buses.
func (m *Machine) explainDevices() {
	for _, d := range m.pio.Mappings() {
		m.note("The %s answers port I/O %#x-%#x: a guest IN or OUT there exits to vmm.", d.Name, d.Base, d.Base+d.Size-1)
	}
}

// explainVCPUs: the CPUID the guest sees and where vCPU 0 starts.
func (m *Machine) explainVCPUs(entry *boot.Entry) {
	supported, _ := m.sys.SupportedCPUID()
	var changed []string
	for i, e := range m.cpuid0 {
		if i < len(supported) && e != supported[i] {
			changed = append(changed, fmt.Sprintf("%#x.%d", e.Function, e.Index))
		}
	}
	m.note("Created %d vCPU(s). Each sees %d CPUID leaves: what this host's KVM supports, with these changed by vmm (topology, APIC IDs, the hypervisor bit): %s.",
		len(m.cpus), len(m.cpuid0), strings.Join(changed, ", "))
	if entry == nil {
		return
	}
	mode := "64-bit long mode, paging on"
	if entry.EFER == 0 {
		mode = "32-bit protected mode, paging off (PVH)"
	}
	m.note("vCPU 0 starts at rip %#x in %s: cr0 %#x, cr3 %#x, cr4 %#x, efer %#x, rsi %#x, rbx %#x, GDT at %#x. The others wait for the guest's INIT and SIPI.",
		entry.RIP, mode, entry.CR0, entry.CR3, entry.CR4, entry.EFER, entry.RSI, entry.RBX, entry.GDTBase)
}
