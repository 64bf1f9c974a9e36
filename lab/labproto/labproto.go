// Package labproto is the one list of the marker lines the lab's outer
// guest prints on its console (lab/outer-init.sh, cmd/testwatch) and
// vmm-lab reads (package lab, cmd/vmm-lab). A marker begins its line.
// The tests' results also come as test2json events over a channel of
// their own (lab/events.go); the markers that report them go once the
// two channels have agreed in CI.
package labproto

// The markers, each followed by a space and its fields (or the line's end).
const (
	Booted    = "LAB-BOOTED"    // uptime=S: the outer guest's script started (each boot)
	KVMReady  = "LAB-KVM"       // ready uptime=S ...: /dev/kvm is there
	Error     = "LAB-ERROR"     // what went wrong setting up the guest
	Heartbeat = "LAB-HEARTBEAT" // every=60s: a LAB-ALIVE line follows every minute
	Alive     = "LAB-ALIVE"     // uptime=S
	Begin     = "LAB-BEGIN"     // BINARY uptime=S: a test binary starts
	Result    = "LAB-RESULT"    // BINARY exit=N start=S end=S: it ended
	Skipped   = "LAB-SKIPPED"   // BINARY: it finished in an earlier boot
	Note      = "LAB-NOTE"      // BINARY left processes behind
	Stall     = "LAB-STALL"     // BINARY silent=S running=TEST, then the processes' states (cmd/testwatch)
	StallEnd  = "LAB-STALL-END" // BINARY exit=N: the stalled binary was stopped
	Bench     = "LAB-BENCH"     // begin|exit=N uptime=S
	File      = "LAB-FILE"      // NAME: base64 of the gzip'd file follows, up to LAB-FILE-END
	FileEnd   = "LAB-FILE-END"
	Done      = "LAB-DONE" // uptime=S: the script reached its end
)

// All lists every marker.
func All() []string {
	return []string{Booted, KVMReady, Error, Heartbeat, Alive, Begin, Result, Skipped, Note, Stall, StallEnd, Bench, File, FileEnd, Done}
}
