package kvm

import (
	"encoding/binary"
	"testing"
)

// runArea builds a synthetic kvm_run area with the given exit reason.
func runArea(reason ExitReason) []byte {
	run := make([]byte, 4096)
	binary.LittleEndian.PutUint32(run[runExitReason:], uint32(reason))
	return run
}

// serialOutRun is a run area holding a one-byte OUT of 'K' to the UART,
// its data at offset 0x800.
func serialOutRun() []byte {
	run := runArea(ExitIO)
	u := run[runUnion:]
	u[0], u[1] = IOOut, 1
	binary.LittleEndian.PutUint16(u[2:], 0x3f8)
	binary.LittleEndian.PutUint32(u[4:], 1)
	binary.LittleEndian.PutUint64(u[8:], 0x800)
	run[0x800] = 'K'
	return run
}

func TestDecodeIOExit(t *testing.T) {
	run := serialOutRun()
	e, err := DecodeExit(run)
	if err != nil {
		t.Fatal(err)
	}
	if e.Reason != ExitIO || e.IO.Port != 0x3f8 || e.IO.Direction != IOOut || e.IO.Size != 1 || string(e.IO.Data) != "K" {
		t.Fatalf("decoded %+v", e)
	}
	e.IO.Data[0] = 'X' // Data aliases the run area, so an IN can be answered through it
	if run[0x800] != 'X' {
		t.Fatal("IO data does not alias the run area")
	}
	if got := e.String(); got != "KVM_EXIT_IO out port 0x3f8 size 1 count 1" {
		t.Errorf("String() = %q", got)
	}
}

func TestDecodeIOExitRejectsBadData(t *testing.T) {
	for name, mutate := range map[string]func(u []byte){
		"offset past end":  func(u []byte) { binary.LittleEndian.PutUint64(u[8:], 4096) },
		"offset huge":      func(u []byte) { binary.LittleEndian.PutUint64(u[8:], 1<<63) },
		"count overflows":  func(u []byte) { binary.LittleEndian.PutUint32(u[4:], 0xffffffff) },
		"zero count":       func(u []byte) { binary.LittleEndian.PutUint32(u[4:], 0) },
		"size 3":           func(u []byte) { u[1] = 3 },
		"direction 2":      func(u []byte) { u[0] = 2 },
		"offset in header": func(u []byte) { binary.LittleEndian.PutUint64(u[8:], 8) },
	} {
		run := runArea(ExitIO)
		u := run[runUnion:]
		u[0], u[1] = IOIn, 4
		binary.LittleEndian.PutUint32(u[4:], 1)
		binary.LittleEndian.PutUint64(u[8:], 0x1000)
		mutate(u)
		if e, err := DecodeExit(run); err == nil {
			t.Errorf("%s: decoded %+v, want error", name, e)
		}
	}
}

func TestDecodeMMIOExit(t *testing.T) {
	run := runArea(ExitMMIO)
	u := run[runUnion:]
	binary.LittleEndian.PutUint64(u, 0xd000_0000)
	binary.LittleEndian.PutUint32(u[8:], 0xdeadbeef)
	binary.LittleEndian.PutUint32(u[16:], 4)
	u[20] = 1
	e, err := DecodeExit(run)
	if err != nil {
		t.Fatal(err)
	}
	if e.MMIO.Addr != 0xd000_0000 || !e.MMIO.IsWrite || binary.LittleEndian.Uint32(e.MMIO.Data) != 0xdeadbeef || len(e.MMIO.Data) != 4 {
		t.Fatalf("decoded %+v", e.MMIO)
	}
	binary.LittleEndian.PutUint32(u[16:], 9)
	if _, err := DecodeExit(run); err == nil {
		t.Error("MMIO length 9 accepted")
	}
}

func TestDecodeOtherExits(t *testing.T) {
	run := runArea(ExitFailEntry)
	binary.LittleEndian.PutUint64(run[runUnion:], 0x80000021)
	binary.LittleEndian.PutUint32(run[runUnion+8:], 1)
	e, err := DecodeExit(run)
	if err != nil || e.FailEntryReason != 0x80000021 || e.FailEntryCPU != 1 {
		t.Fatalf("fail entry: %+v %v", e, err)
	}

	run = runArea(ExitInternalError)
	binary.LittleEndian.PutUint32(run[runUnion:], 1)
	binary.LittleEndian.PutUint32(run[runUnion+4:], 1000) // more data than fits: clamped to 16
	e, err = DecodeExit(run)
	if err != nil || e.Internal.Suberror != 1 || len(e.Internal.Data) != 16 {
		t.Fatalf("internal error: %+v %v", e, err)
	}

	run = runArea(ExitSystemEvent)
	binary.LittleEndian.PutUint32(run[runUnion:], SystemEventReset)
	e, err = DecodeExit(run)
	if err != nil || e.SystemEvent.Type != SystemEventReset || len(e.SystemEvent.Data) != 0 {
		t.Fatalf("system event: %+v %v", e, err)
	}

	for _, r := range []ExitReason{ExitHLT, ExitShutdown, ExitIntr} {
		e, err := DecodeExit(runArea(r))
		if err != nil || e.Reason != r {
			t.Errorf("%v: %+v %v", r, e, err)
		}
	}
	if ExitReason(999).String() != "KVM_EXIT(999)" || ExitHLT.String() != "KVM_EXIT_HLT" {
		t.Error("ExitReason names")
	}
	if _, err := DecodeExit(make([]byte, 100)); err == nil {
		t.Error("short run area accepted")
	}
}

func FuzzDecodeExit(f *testing.F) {
	seed := runArea(ExitIO)
	seed[runUnion+1] = 1
	binary.LittleEndian.PutUint32(seed[runUnion+4:], 1)
	binary.LittleEndian.PutUint64(seed[runUnion+8:], 0x400)
	f.Add(seed[:0x800])
	f.Add(runArea(ExitMMIO)[:runMinSize])
	f.Fuzz(func(t *testing.T, run []byte) {
		e, err := DecodeExit(run)
		if err != nil {
			return
		}
		_ = e.String()
		if e.Reason == ExitIO && len(e.IO.Data) != int(e.IO.Size)*int(e.IO.Count) {
			t.Fatalf("IO data length %d for %d x %d", len(e.IO.Data), e.IO.Size, e.IO.Count)
		}
	})
}
