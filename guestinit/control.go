package guestinit

import (
	"encoding/binary"
	"errors"
	"io"
	"syscall"
)

// The messages the host sends the init on PortControl: a kind byte,
// then the kind's payload.
const (
	ControlSignal byte = 1 // one byte: a signal for the process's group
	ControlResize byte = 2 // rows, then columns, two bytes each (big-endian): the terminal's size
)

// SignalMessage asks the init to send sig to the process.
func SignalMessage(sig syscall.Signal) []byte { return []byte{ControlSignal, byte(sig)} }

// ResizeMessage tells the init the size of the user's terminal.
func ResizeMessage(rows, cols uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16([]byte{ControlResize}, rows), cols)
}

// control is what a control message asks.
type control struct {
	signal     syscall.Signal // ControlSignal
	rows, cols uint16         // ControlResize
	kind       byte
}

// readControl reads the next message; an unknown kind is an error (the
// stream cannot be resynchronised).
func readControl(r io.Reader) (control, error) {
	var b [5]byte
	if _, err := io.ReadFull(r, b[:1]); err != nil {
		return control{}, err
	}
	switch b[0] {
	case ControlSignal:
		if _, err := io.ReadFull(r, b[1:2]); err != nil {
			return control{}, err
		}
		return control{kind: ControlSignal, signal: syscall.Signal(b[1])}, nil
	case ControlResize:
		if _, err := io.ReadFull(r, b[1:5]); err != nil {
			return control{}, err
		}
		return control{kind: ControlResize, rows: binary.BigEndian.Uint16(b[1:]), cols: binary.BigEndian.Uint16(b[3:])}, nil
	}
	return control{}, errUnknownControl
}

// errUnknownControl is a message of no known kind.
var errUnknownControl = errors.New("control stream: unknown message")
