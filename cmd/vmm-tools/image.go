package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/image/store"
	"github.com/vmmlab/vmm/internal/cli"
)

// imageCommands are `vmm image import|ls|inspect|rm`.
func imageCommands() cli.Commands {
	return cli.Commands{Prog: "vmm image",
		Usage: "usage: vmm image import FILE|DIR [--name NAME] [--replace] | ls [--json] | inspect NAME | rm NAME",
		List: []cli.Command{{Name: "import", Run: runImageImport}, {Name: "ls", Run: runImageList},
			{Name: "inspect", Run: runImageInspect}, {Name: "rm", Run: runImageRemove}}}
}

func runImage(args []string, stdout, stderr io.Writer) int {
	return imageCommands().Dispatch(args, stdout, stderr)
}

// openStore opens the default store, or says why not (exit 1).
func openStore(stderr io.Writer, prog string) (*store.Store, bool) {
	s, err := openImageStore()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return nil, false
	}
	return s, true
}

// runImageImport is `vmm image import FILE|DIR [--name NAME] [--replace]`.
func runImageImport(args []string, stdout, stderr io.Writer) int {
	var o store.ImportOptions
	s, rest, code := imageCommand("import", "FILE|DIR [--name NAME] [--replace]", 1, args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&o.Name, "name", "", "the image's name, repo[:tag] (default: the names the image gives itself)")
		fs.BoolVar(&o.Replace, "replace", false, "move a name that points at another image")
	})
	if s == nil {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o.Progress = stderr
	r, err := s.Import(ctx, rest[0], o)
	if err != nil {
		fmt.Fprintln(stderr, "vmm image import:", err)
		return 1
	}
	for _, n := range r.Names {
		fmt.Fprintln(stdout, n, r.Record.Digest)
	}
	return 0
}

// runImageList is `vmm image ls [--json]`.
func runImageList(args []string, stdout, stderr io.Writer) int {
	var asJSON bool
	s, _, code := imageCommand("ls", "[--json]", 0, args, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print a JSON list: name, id, digest, size, layers")
	})
	if s == nil {
		return code
	}
	list, err := s.List()
	if err != nil {
		fmt.Fprintln(stderr, "vmm image ls:", err)
		return 1
	}
	if asJSON {
		b, _ := json.MarshalIndent(list, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSIZE")
	for _, im := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", im.Name, im.ID, humanSize(im.Size))
	}
	tw.Flush()
	return 0
}

// runImageInspect is `vmm image inspect NAME`.
func runImageInspect(args []string, stdout, stderr io.Writer) int {
	s, rest, code := imageCommand("inspect", "NAME", 1, args, stderr, nil)
	if s == nil {
		return code
	}
	d, err := s.Inspect(rest[0])
	if err != nil {
		fmt.Fprintln(stderr, "vmm image inspect:", err)
		return 1
	}
	type layerOut struct {
		DiffID string `json:"diff_id"`
		Size   int64  `json:"size"`
		Shared int    `json:"shared_with"` // other images that use it
	}
	out := struct {
		Name   string          `json:"name"`
		ID     string          `json:"id"`
		Digest string          `json:"digest"`
		Size   int64           `json:"size"`
		Layers []layerOut      `json:"layers"`
		Config json.RawMessage `json:"config"`
	}{Name: d.Name, ID: d.Record.ID(), Digest: d.Record.Digest, Size: d.Record.Size(), Config: d.Record.Config}
	for i, l := range d.Record.Layers {
		out.Layers = append(out.Layers, layerOut{DiffID: l.DiffID, Size: l.Size, Shared: d.Shared[i]})
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintln(stdout, string(b))
	return 0
}

// runImageRemove is `vmm image rm NAME`.
func runImageRemove(args []string, stdout, stderr io.Writer) int {
	s, rest, code := imageCommand("rm", "NAME", 1, args, stderr, nil)
	if s == nil {
		return code
	}
	if err := s.Remove(rest[0]); err != nil {
		fmt.Fprintln(stderr, "vmm image rm:", err)
		return 1
	}
	return 0
}

// imageCommand parses `vmm image CMD` (its flags declared by declare,
// n arguments after them, as usage says) and opens the store; a nil
// store comes with the exit code.
func imageCommand(cmd, usage string, n int, args []string, stderr io.Writer, declare func(*flag.FlagSet)) (*store.Store, []string, int) {
	fs := flag.NewFlagSet("vmm image "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if declare != nil {
		declare(fs)
	}
	if code, ok := cli.ParseFlags(fs, args, stderr); !ok {
		return nil, nil, code
	}
	if fs.NArg() != n {
		fmt.Fprintf(stderr, "usage: vmm image %s %s\n", cmd, usage)
		return nil, nil, 2
	}
	s, ok := openStore(stderr, "vmm image "+cmd)
	if !ok {
		return nil, nil, 1
	}
	return s, fs.Args(), 0
}

// humanSize is n bytes as docker images shows sizes (decimal units).
func humanSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.3gGB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.3gMB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.3gkB", float64(n)/1e3)
	}
	return fmt.Sprintf("%dB", n)
}
