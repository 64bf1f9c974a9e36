package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/api/apiclient"
)

// runCtl is `vmm ctl --api-sock PATH status|pause|resume|snapshot DIR|working-set|stop`.
func runCtl(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vmm ctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sock := fs.String("api-sock", "", "the VM's control socket (vmm boot --api-sock)")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for an answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if *sock == "" || len(rest) == 0 {
		fmt.Fprintln(stderr, "usage: vmm ctl --api-sock PATH status|pause|resume|snapshot DIR|working-set|stop")
		return 2
	}
	c := apiclient.New(*sock, *timeout)
	var err error
	switch {
	case rest[0] == "status" && len(rest) == 1:
		var s any
		if s, err = c.Status(); err == nil {
			b, _ := json.MarshalIndent(s, "", "  ")
			fmt.Fprintln(stdout, string(b))
		}
	case rest[0] == "pause" && len(rest) == 1:
		err = c.Pause()
	case rest[0] == "resume" && len(rest) == 1:
		err = c.Resume()
	case rest[0] == "stop" && len(rest) == 1:
		err = c.Stop()
	case rest[0] == "working-set" && len(rest) == 1:
		var info any
		if info, err = c.RecordWorkingSet(); err == nil {
			b, _ := json.Marshal(info)
			fmt.Fprintln(stdout, string(b))
		}
	case rest[0] == "snapshot" && len(rest) == 2:
		var dir string
		if dir, err = filepath.Abs(rest[1]); err == nil { // the VM's working directory is not ours
			var info any
			if info, err = c.Snapshot(dir); err == nil {
				b, _ := json.Marshal(info)
				fmt.Fprintln(stdout, string(b))
			}
		}
	default:
		fmt.Fprintf(stderr, "vmm ctl: unknown request %q (want status, pause, resume, snapshot DIR, working-set or stop)\n", rest)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "vmm ctl:", err)
		return 1
	}
	return 0
}
