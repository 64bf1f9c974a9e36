package kvm

// This file mirrors the x86-64 KVM ABI from <linux/kvm.h> and <asm/kvm.h>:
// ioctl numbers, capability numbers and the fixed-size structs that cross
// the ioctl boundary. Every struct has its padding spelled out so that its
// Go layout equals the C layout; ioctl_unsafe.go checks the sizes at compile
// time.

// ioctl direction bits, as in <asm-generic/ioctl.h>.
const (
	iocNone  = 0
	iocWrite = 1
	iocRead  = 2

	kvmio = 0xAE
)

// Sizes of the ABI structs in bytes (checked against the Go types).
const (
	sizeRegs           = 144
	sizeSregs          = 312
	sizeFPU            = 416
	sizeLAPICState     = 1024
	sizeMemoryRegion   = 32
	sizeIRQLevel       = 8
	sizePITConfig      = 64
	sizeIOEventFD      = 64
	sizeIRQFD          = 32
	sizeMSI            = 32
	sizeCPUIDEntry     = 40
	sizeMSREntry       = 16
	sizeVarHeader      = 8 // kvm_cpuid2 / kvm_msrs: u32 count + u32 pad
	sizeMSRListHeader  = 4 // kvm_msr_list: u32 nmsrs
	sizeIRQRoutingHead = 8 // kvm_irq_routing: u32 nr + u32 flags
	sizeIRQRoutingEnt  = 48
)

// ioctl request numbers: dir<<30 | size<<16 | type<<8 | nr.
const (
	reqGetAPIVersion       = (iocNone)<<30 | 0<<16 | kvmio<<8 | 0x00
	reqCreateVM            = (iocNone)<<30 | 0<<16 | kvmio<<8 | 0x01
	reqGetMSRIndexList     = (iocRead|iocWrite)<<30 | sizeMSRListHeader<<16 | kvmio<<8 | 0x02
	reqCheckExtension      = (iocNone)<<30 | 0<<16 | kvmio<<8 | 0x03
	reqGetVCPUMmapSize     = (iocNone)<<30 | 0<<16 | kvmio<<8 | 0x04
	reqGetSupportedCPUID   = (iocRead|iocWrite)<<30 | sizeVarHeader<<16 | kvmio<<8 | 0x05
	reqCreateVCPU          = (iocNone)<<30 | 0<<16 | kvmio<<8 | 0x41
	reqSetUserMemoryRegion = (iocWrite)<<30 | sizeMemoryRegion<<16 | kvmio<<8 | 0x46
	reqSetTSSAddr          = (iocNone)<<30 | 0<<16 | kvmio<<8 | 0x47
	reqSetIdentityMapAddr  = (iocWrite)<<30 | 8<<16 | kvmio<<8 | 0x48
	reqCreateIRQChip       = (iocNone)<<30 | 0<<16 | kvmio<<8 | 0x60
	reqIRQLine             = (iocWrite)<<30 | sizeIRQLevel<<16 | kvmio<<8 | 0x61
	reqSetGSIRouting       = (iocWrite)<<30 | sizeIRQRoutingHead<<16 | kvmio<<8 | 0x6a
	reqIRQFD               = (iocWrite)<<30 | sizeIRQFD<<16 | kvmio<<8 | 0x76
	reqCreatePIT2          = (iocWrite)<<30 | sizePITConfig<<16 | kvmio<<8 | 0x77
	reqIOEventFD           = (iocWrite)<<30 | sizeIOEventFD<<16 | kvmio<<8 | 0x79
	reqSignalMSI           = (iocWrite)<<30 | sizeMSI<<16 | kvmio<<8 | 0xa5
	reqRun                 = (iocNone)<<30 | 0<<16 | kvmio<<8 | 0x80
	reqGetRegs             = (iocRead)<<30 | sizeRegs<<16 | kvmio<<8 | 0x81
	reqSetRegs             = (iocWrite)<<30 | sizeRegs<<16 | kvmio<<8 | 0x82
	reqGetSregs            = (iocRead)<<30 | sizeSregs<<16 | kvmio<<8 | 0x83
	reqSetSregs            = (iocWrite)<<30 | sizeSregs<<16 | kvmio<<8 | 0x84
	reqGetMSRs             = (iocRead|iocWrite)<<30 | sizeVarHeader<<16 | kvmio<<8 | 0x88
	reqSetMSRs             = (iocWrite)<<30 | sizeVarHeader<<16 | kvmio<<8 | 0x89
	reqGetFPU              = (iocRead)<<30 | sizeFPU<<16 | kvmio<<8 | 0x8c
	reqSetFPU              = (iocWrite)<<30 | sizeFPU<<16 | kvmio<<8 | 0x8d
	reqGetLAPIC            = (iocRead)<<30 | sizeLAPICState<<16 | kvmio<<8 | 0x8e
	reqSetLAPIC            = (iocWrite)<<30 | sizeLAPICState<<16 | kvmio<<8 | 0x8f
	reqSetCPUID2           = (iocWrite)<<30 | sizeVarHeader<<16 | kvmio<<8 | 0x90
)

// APIVersion is the only KVM API version this package speaks.
const APIVersion = 12

// Cap is a KVM capability number for KVM_CHECK_EXTENSION.
type Cap uintptr

// Capabilities this project asks about.
const (
	CapIRQChip         Cap = 0
	CapHLT             Cap = 1
	CapUserMemory      Cap = 3
	CapSetTSSAddr      Cap = 4
	CapExtCPUID        Cap = 7
	CapNrVCPUs         Cap = 9
	CapNrMemSlots      Cap = 10
	CapPIT             Cap = 11
	CapMPState         Cap = 14
	CapIRQRouting      Cap = 25
	CapIRQInjectStatus Cap = 26
	CapSetIdentityMap  Cap = 37
	CapIOEventFD       Cap = 36
	CapPIT2            Cap = 33
	CapIRQFD           Cap = 32
	CapMaxVCPUs        Cap = 66
	CapTSCDeadline     Cap = 72 // KVM_CAP_TSC_DEADLINE_TIMER
	CapSignalMSI       Cap = 77
	CapImmediateExit   Cap = 136
)

// Memory region flags for SetUserMemoryRegion.
const (
	MemLogDirtyPages uint32 = 1 << 0
	MemReadonly      uint32 = 1 << 1
)

// PIT flags for CreatePIT2.
const PITSpeakerDummy uint32 = 1

// IOEventFD flags.
const (
	ioeventfdDatamatch uint32 = 1 << 0
	ioeventfdPIO       uint32 = 1 << 1
	ioeventfdDeassign  uint32 = 1 << 2
)

// IRQFD flags.
const irqfdDeassign uint32 = 1 << 0

// Segment is struct kvm_segment.
type Segment struct {
	Base     uint64
	Limit    uint32
	Selector uint16
	Type     uint8
	Present  uint8
	DPL      uint8
	DB       uint8
	S        uint8
	L        uint8
	G        uint8
	AVL      uint8
	Unusable uint8
	_        uint8
}

// DTable is struct kvm_dtable (GDT/IDT base and limit).
type DTable struct {
	Base  uint64
	Limit uint16
	_     [3]uint16
}

// Regs is struct kvm_regs: the general-purpose registers.
type Regs struct {
	RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP uint64
	R8, R9, R10, R11, R12, R13, R14, R15   uint64
	RIP, RFLAGS                            uint64
}

// Sregs is struct kvm_sregs: segment, control and descriptor-table registers.
type Sregs struct {
	CS, DS, ES, FS, GS, SS Segment
	TR, LDT                Segment
	GDT, IDT               DTable
	CR0, CR2, CR3, CR4     uint64
	CR8                    uint64
	EFER                   uint64
	APICBase               uint64
	InterruptBitmap        [4]uint64
}

// FPU is struct kvm_fpu: x87 and SSE state.
type FPU struct {
	FPR        [8][16]uint8
	FCW        uint16
	FSW        uint16
	FTWX       uint8
	_          uint8
	LastOpcode uint16
	LastIP     uint64
	LastDP     uint64
	XMM        [16][16]uint8
	MXCSR      uint32
	_          uint32
}

// LAPICState is struct kvm_lapic_state: the 1 KiB local APIC register page.
type LAPICState struct {
	Regs [sizeLAPICState]byte
}

// CPUIDEntry is struct kvm_cpuid_entry2.
type CPUIDEntry struct {
	Function uint32
	Index    uint32
	Flags    uint32
	EAX      uint32
	EBX      uint32
	ECX      uint32
	EDX      uint32
	_        [3]uint32
}

// CPUID entry flags.
const (
	CPUIDFlagSignificantIndex uint32 = 1 << 0
)

// MSREntry is struct kvm_msr_entry.
type MSREntry struct {
	Index uint32
	_     uint32
	Data  uint64
}

type memoryRegion struct {
	Slot          uint32
	Flags         uint32
	GuestPhysAddr uint64
	MemorySize    uint64
	UserspaceAddr uint64
}

type irqLevel struct {
	IRQ   uint32
	Level uint32
}

type pitConfig struct {
	Flags uint32
	_     [15]uint32
}

type ioEventFD struct {
	Datamatch uint64
	Addr      uint64
	Len       uint32
	FD        int32
	Flags     uint32
	_         [36]uint8
}

type irqFD struct {
	FD         uint32
	GSI        uint32
	Flags      uint32
	ResampleFD uint32
	_          [16]uint8
}

type msi struct {
	AddressLo uint32
	AddressHi uint32
	Data      uint32
	Flags     uint32
	DevID     uint32
	_         [12]uint8
}

// RunTimeRequests are the ioctl requests vmm makes on KVM's file
// descriptors once the machine runs: entering the guest, raising
// interrupts, reading registers and the TSC MSRs for a crash or stop
// report, and dropping ioeventfds and irqfds at shutdown. A seccomp filter allows these and no
// other KVM request (none that creates a VM or maps memory).
func RunTimeRequests() []uintptr {
	return []uintptr{reqRun, reqIRQLine, reqSignalMSI, reqGetRegs, reqGetSregs, reqGetMSRs, reqIOEventFD, reqIRQFD}
}

// SnapshotRequests are the ioctl requests a snapshot of a running machine
// makes: reading vCPU and VM state, and telling the guest's kvmclock it
// was paused. None writes state or creates anything.
func SnapshotRequests() []uintptr {
	return []uintptr{reqGetXSave, reqGetXCRs, reqGetVCPUEvents, reqGetMPState, reqGetDebugRegs, reqGetLAPIC, reqGetMSRs,
		reqGetIRQChip, reqGetPIT2, reqGetClock, reqKVMClockCtrl}
}
