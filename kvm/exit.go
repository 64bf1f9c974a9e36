package kvm

import (
	"encoding/binary"
	"fmt"
)

// ExitReason is kvm_run.exit_reason.
type ExitReason uint32

// Exit reasons from <linux/kvm.h>.
const (
	ExitUnknown       ExitReason = 0
	ExitException     ExitReason = 1
	ExitIO            ExitReason = 2
	ExitHypercall     ExitReason = 3
	ExitDebug         ExitReason = 4
	ExitHLT           ExitReason = 5
	ExitMMIO          ExitReason = 6
	ExitIRQWindowOpen ExitReason = 7
	ExitShutdown      ExitReason = 8
	ExitFailEntry     ExitReason = 9
	ExitIntr          ExitReason = 10
	ExitNMI           ExitReason = 16
	ExitInternalError ExitReason = 17
	ExitSystemEvent   ExitReason = 24
)

func (r ExitReason) String() string {
	names := [...]string{
		ExitUnknown: "UNKNOWN", ExitException: "EXCEPTION", ExitIO: "IO", ExitHypercall: "HYPERCALL",
		ExitDebug: "DEBUG", ExitHLT: "HLT", ExitMMIO: "MMIO", ExitIRQWindowOpen: "IRQ_WINDOW_OPEN",
		ExitShutdown: "SHUTDOWN", ExitFailEntry: "FAIL_ENTRY", ExitIntr: "INTR", ExitNMI: "NMI",
		ExitInternalError: "INTERNAL_ERROR", ExitSystemEvent: "SYSTEM_EVENT",
	}
	if int(r) < len(names) && names[r] != "" {
		return "KVM_EXIT_" + names[r]
	}
	return fmt.Sprintf("KVM_EXIT(%d)", uint32(r))
}

// Directions of a port I/O exit.
const (
	IOIn  = 0
	IOOut = 1
)

// System event types (kvm_run.system_event.type).
const (
	SystemEventShutdown = 1
	SystemEventReset    = 2
	SystemEventCrash    = 3
)

// Offsets into struct kvm_run (x86-64).
const (
	runImmediateExit = 1
	runExitReason    = 8
	runUnion         = 32 // the per-exit union starts here
	runMinSize       = runUnion + 256
)

// IOExit is a port I/O exit. Data aliases the kvm_run area: for IOOut it
// holds the bytes the guest wrote; for IOIn the VMM fills it before the next
// run. It is Size*Count bytes long (string instructions repeat Count times).
type IOExit struct {
	Direction uint8
	Size      uint8
	Port      uint16
	Count     uint32
	Data      []byte
}

// MMIOExit is a memory-mapped I/O exit. Data aliases the kvm_run area and is
// Len bytes long: written by the guest when IsWrite, filled by the VMM when not.
type MMIOExit struct {
	Addr    uint64
	Data    []byte
	IsWrite bool
}

// InternalExit is KVM_EXIT_INTERNAL_ERROR.
type InternalExit struct {
	Suberror uint32
	Data     []uint64
}

// SystemEventExit is KVM_EXIT_SYSTEM_EVENT (for example PSCI or a triple
// fault with KVM_CAP_X86_TRIPLE_FAULT_EVENT).
type SystemEventExit struct {
	Type uint32
	Data []uint64
}

// Exit is one decoded kvm_run exit. Only the field for Reason is set.
type Exit struct {
	Reason      ExitReason
	IO          IOExit
	MMIO        MMIOExit
	Internal    InternalExit
	SystemEvent SystemEventExit
	// FailEntryReason is the hardware entry failure reason (FAIL_ENTRY) or
	// hardware exit reason (UNKNOWN).
	FailEntryReason uint64
	FailEntryCPU    uint32
}

// DecodeExit decodes the exit described by a kvm_run area. It is a pure
// function of run: every offset and length taken from run is checked, so a
// short or corrupted area gives an error, never a panic.
func DecodeExit(run []byte) (Exit, error) {
	if len(run) < runMinSize {
		return Exit{}, fmt.Errorf("kvm_run area is %d bytes, need at least %d", len(run), runMinSize)
	}
	le := binary.LittleEndian
	u := run[runUnion:]
	e := Exit{Reason: ExitReason(le.Uint32(run[runExitReason:]))}
	switch e.Reason {
	case ExitIO:
		io := IOExit{Direction: u[0], Size: u[1], Port: le.Uint16(u[2:]), Count: le.Uint32(u[4:])}
		off := le.Uint64(u[8:])
		if io.Size != 1 && io.Size != 2 && io.Size != 4 {
			return Exit{}, fmt.Errorf("I/O exit at port %#x: bad access size %d", io.Port, io.Size)
		}
		if io.Direction > IOOut {
			return Exit{}, fmt.Errorf("I/O exit at port %#x: bad direction %d", io.Port, io.Direction)
		}
		n := uint64(io.Size) * uint64(io.Count)
		if io.Count == 0 || off < runMinSize || off > uint64(len(run)) || n > uint64(len(run))-off {
			return Exit{}, fmt.Errorf("I/O exit at port %#x: data %d x %d at offset %#x outside the %d-byte run area",
				io.Port, io.Size, io.Count, off, len(run))
		}
		io.Data = run[off : off+n]
		e.IO = io
	case ExitMMIO:
		n := le.Uint32(u[16:])
		if n == 0 || n > 8 {
			return Exit{}, fmt.Errorf("MMIO exit at %#x: bad length %d", le.Uint64(u), n)
		}
		e.MMIO = MMIOExit{Addr: le.Uint64(u), Data: u[8 : 8+n], IsWrite: u[20] != 0}
	case ExitFailEntry:
		e.FailEntryReason = le.Uint64(u)
		e.FailEntryCPU = le.Uint32(u[8:])
	case ExitUnknown:
		e.FailEntryReason = le.Uint64(u)
	case ExitInternalError:
		e.Internal = InternalExit{Suberror: le.Uint32(u), Data: words(u, le.Uint32(u[4:]))}
	case ExitSystemEvent:
		e.SystemEvent = SystemEventExit{Type: le.Uint32(u), Data: words(u, le.Uint32(u[4:]))}
	}
	return e, nil
}

// words reads up to 16 u64 values that follow a (u32, u32 count) header.
func words(u []byte, n uint32) []uint64 {
	n = min(n, 16)
	out := make([]uint64, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(u[8+8*i:])
	}
	return out
}

func (e Exit) String() string {
	switch e.Reason {
	case ExitIO:
		dir := "in"
		if e.IO.Direction == IOOut {
			dir = "out"
		}
		return fmt.Sprintf("%v %s port %#x size %d count %d", e.Reason, dir, e.IO.Port, e.IO.Size, e.IO.Count)
	case ExitMMIO:
		dir := "read"
		if e.MMIO.IsWrite {
			dir = "write"
		}
		return fmt.Sprintf("%v %s %#x len %d", e.Reason, dir, e.MMIO.Addr, len(e.MMIO.Data))
	case ExitFailEntry:
		return fmt.Sprintf("%v hardware reason %#x on cpu %d", e.Reason, e.FailEntryReason, e.FailEntryCPU)
	case ExitUnknown:
		return fmt.Sprintf("%v hardware reason %#x", e.Reason, e.FailEntryReason)
	case ExitInternalError:
		return fmt.Sprintf("%v suberror %d data %#x", e.Reason, e.Internal.Suberror, e.Internal.Data)
	case ExitSystemEvent:
		return fmt.Sprintf("%v type %d data %#x", e.Reason, e.SystemEvent.Type, e.SystemEvent.Data)
	}
	return e.Reason.String()
}
