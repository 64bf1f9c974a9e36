package guestinit

import (
	"bytes"
	"syscall"
	"testing"
)

func TestControlMessages(t *testing.T) {
	var stream bytes.Buffer
	stream.Write(SignalMessage(syscall.SIGTERM))
	stream.Write(ResizeMessage(50, 132))
	if c, err := readControl(&stream); err != nil || c.kind != ControlSignal || c.signal != syscall.SIGTERM {
		t.Errorf("signal: %+v, %v", c, err)
	}
	if c, err := readControl(&stream); err != nil || c.kind != ControlResize || c.rows != 50 || c.cols != 132 {
		t.Errorf("resize: %+v, %v", c, err)
	}
	for _, bad := range [][]byte{{}, {9}, {ControlSignal}, {ControlResize, 0, 1, 0}} {
		if c, err := readControl(bytes.NewReader(bad)); err == nil {
			t.Errorf("%v read as %+v", bad, c)
		}
	}
}
