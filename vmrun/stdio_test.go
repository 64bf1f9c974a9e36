package vmrun

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/internal/syncbuf"
)

// guestDial connects to the listener for port as vmm's vsock device
// does for a guest's connection to the host (PATH_PORT).
func guestDial(t *testing.T, base string, port uint32) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: fmt.Sprintf("%s_%d", base, port), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Output streams are copied byte for byte and kept apart; the host
// closes each once the guest says it sends no more, which the guest
// waits for before it powers off.
func TestStreamsCopyOutput(t *testing.T) {
	base := filepath.Join(t.TempDir(), "vsock")
	var stdout, stderr syncbuf.Buffer
	st, err := listen(base, strings.NewReader("input\n"), &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	out, errs := guestDial(t, base, guestinit.PortStdout), guestDial(t, base, guestinit.PortStderr)
	in, ctl := guestDial(t, base, guestinit.PortStdin), guestDial(t, base, guestinit.PortControl)
	got, _ := io.ReadAll(in)
	if string(got) != "input\n" {
		t.Errorf("stdin %q", got)
	}
	binary := []byte("no\r\nnewline translation\x00\xff")
	out.Write(binary)
	errs.Write([]byte("to stderr"))
	for _, c := range []*net.UnixConn{out, errs} {
		c.CloseWrite()
		if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("after the guest's shutdown: %d, %v; want EOF from the host", n, err)
		}
	}
	ctl.Close()
	st.close()
	st.wait()
	if !bytes.Equal([]byte(stdout.String()), binary) || stderr.String() != "to stderr" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}

// Control messages (signals, the terminal's size) that come before the
// guest connected its control stream wait for it, in order; later ones
// go at once.
func TestStreamsRelaySignals(t *testing.T) {
	base := filepath.Join(t.TempDir(), "vsock")
	st, err := listen(base, nil, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	st.signal(syscall.SIGINT)
	st.resize(24, 80)
	ctl := guestDial(t, base, guestinit.PortControl)
	want := append(guestinit.SignalMessage(syscall.SIGINT), guestinit.ResizeMessage(24, 80)...)
	b := make([]byte, len(want))
	if _, err := io.ReadFull(ctl, b); err != nil || !bytes.Equal(b, want) {
		t.Fatalf("pending messages %v, %v; want %v", b, err, want)
	}
	st.signal(syscall.SIGQUIT)
	if _, err := io.ReadFull(ctl, b[:2]); err != nil || !bytes.Equal(b[:2], guestinit.SignalMessage(syscall.SIGQUIT)) {
		t.Fatalf("signal %v, %v", b[:2], err)
	}
	if _, err := net.Dial("unix", fmt.Sprintf("%s_%d", base, guestinit.PortStdin)); err == nil {
		t.Error("stdin listens without -i")
	}
	ctl.Close()
}
