package vmrun

import (
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// followTerminal, for a process with a terminal (-t), tells it the size
// of the user's terminal now and on every SIGWINCH, and with -i puts the
// user's terminal into raw mode (the guest's terminal does the line
// editing and echo). The returned function undoes both.
func followTerminal(st *streams, stdin io.Reader, stdout io.Writer, interactive bool) func() {
	tty := terminalFD(stdout)
	if tty < 0 {
		tty = terminalFD(stdin)
	}
	var restore func()
	if in := terminalFD(stdin); interactive && in >= 0 {
		if old, err := term.MakeRaw(in); err == nil {
			restore = func() { term.Restore(in, old) }
		}
	}
	if tty < 0 {
		return func() {
			if restore != nil {
				restore()
			}
		}
	}
	sendSize := func() {
		if w, h, err := term.GetSize(tty); err == nil {
			st.resize(uint16(h), uint16(w))
		}
	}
	sendSize()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				sendSize()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(done)
		if restore != nil {
			restore()
		}
	}
}

// terminalFD is v's descriptor when v is a terminal, else -1.
func terminalFD(v any) int {
	f, ok := v.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return -1
	}
	return int(f.Fd())
}
