package guestinit

import (
	"bufio"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// LineInput is the parameter vmm adds to the kernel command line when its
// own input is not a terminal (a pipe, a file): the shell then reads the
// console line by line instead of through a line editor. An editor first
// queries the terminal and swallows whatever arrives meanwhile, so lines
// piped in before its prompt were lost and a piped `poweroff` never came.
const LineInput = "vmm.input=lines"

// runLines is the shell for piped input: the console in canonical mode
// without echo, each line run by the shell with -c, in order, until
// "exit" or the end of input. It returns the last command's status.
func runLines(con *os.File) int {
	sh := ""
	for _, s := range shells() {
		if _, err := os.Stat(s); err == nil {
			sh = s
			break
		}
	}
	if sh == "" {
		logf(con, "no shell found (tried %s)", strings.Join(shells(), ", "))
		return 127
	}
	in := os.Stdin
	if t, err := unix.IoctlGetTermios(int(in.Fd()), unix.TCGETS); err == nil {
		t.Lflag |= unix.ICANON
		t.Lflag &^= unix.ECHO
		t.Iflag |= unix.ICRNL // vmm sends a carriage return for each newline
		unix.IoctlSetTermios(int(in.Fd()), unix.TCSETS, t)
	}
	logf(con, "reading commands line by line (%s)", LineInput)
	status := 0
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch line {
		case "":
			continue
		case "exit":
			return status
		}
		cmd := exec.Command(sh, "-c", line)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = in, con, con
		if status = exitCode(cmd.Run()); status < 0 {
			status = 127
		}
	}
	return status
}
