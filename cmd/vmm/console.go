package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// escapeByte (Ctrl-A) followed by 'x' quits vmm when stdin is a terminal;
// Ctrl-A twice sends one Ctrl-A to the guest.
const escapeByte = 0x01

type inputSink interface {
	Input(p []byte) error
}

// startConsole forwards stdin to the guest. A terminal is put in raw mode
// (so Ctrl-C reaches the guest) and watched for the escape sequence. A pipe
// or file is forwarded until EOF with each newline turned into a carriage
// return, which is what a terminal sends for Enter: line editors such as
// u-root's gosh only accept CR, and the guest's tty turns CR back into a
// newline for line-based programs. The returned function restores the
// terminal.
//
// ready, when not nil, holds input that is not a terminal back until it is
// closed (the guest has booted): a guest's serial driver reads and drops
// what is in the receiver while it starts up, which cost a piped script
// its first characters.
func startConsole(stdin *os.File, sink inputSink, quit context.CancelCauseFunc, stderr io.Writer, ready <-chan struct{}) func() {
	fd := int(stdin.Fd())
	restore := func() {}
	tty := term.IsTerminal(fd)
	if tty {
		old, err := term.MakeRaw(fd)
		if err == nil {
			restore = func() { term.Restore(fd, old) }
			fmt.Fprint(stderr, "vmm: console attached; press Ctrl-A x to quit\r\n")
		}
	}
	go func() {
		if !tty && ready != nil {
			<-ready
		}
		var e escaper
		buf := make([]byte, 4096)
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				out, quitNow := buf[:n], false
				if tty {
					out, quitNow = e.filter(buf[:n])
				} else {
					out = bytes.ReplaceAll(out, []byte{'\n'}, []byte{'\r'})
				}
				if len(out) > 0 && sink.Input(out) != nil {
					return // the machine has stopped
				}
				if quitNow {
					quit(errors.New("escape key (Ctrl-A x)"))
					return
				}
			}
			if err != nil {
				return // EOF: the guest keeps running without input
			}
		}
	}()
	return restore
}

// escaper strips the escape sequence from terminal input.
type escaper struct{ pending bool }

func (e *escaper) filter(in []byte) (out []byte, quit bool) {
	var b bytes.Buffer
	for _, c := range in {
		if e.pending {
			e.pending = false
			switch c {
			case 'x', 'X':
				return b.Bytes(), true
			case escapeByte:
				b.WriteByte(escapeByte)
			default:
				b.WriteByte(escapeByte)
				b.WriteByte(c)
			}
			continue
		}
		if c == escapeByte {
			e.pending = true
			continue
		}
		b.WriteByte(c)
	}
	return b.Bytes(), false
}
