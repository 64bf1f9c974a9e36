package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmmlab/vmm/bench"
	"github.com/vmmlab/vmm/image/process"
	"github.com/vmmlab/vmm/image/store"
	"github.com/vmmlab/vmm/vmrun"
)

// ociFlags name one OCI image to measure: vmm bench start's
// --oci-image, --oci-cmd and --ready, or one vmm bench all --app.
type ociFlags struct {
	image, cmd, ready string
	// workload, for --app workload:NAME, is the bench workload to pack
	// as an image (image is then the tarball packWorkload writes).
	workload string
}

// check validates the start flags for which: only start measures one
// image in place of the workload; --ready, when given, must parse.
func (f ociFlags) check(which string) error {
	if f.image == "" {
		if f.cmd != "" || f.ready != "" {
			return fmt.Errorf("--oci-cmd and --ready go with --oci-image")
		}
		return nil
	}
	if which != "start" {
		return fmt.Errorf("--oci-image: only vmm bench start measures an image in place of the workload; vmm bench all takes --app FILE")
	}
	return checkReady(f.ready)
}

// parseApp reads --app IMAGE[=READY] or --app workload:NAME.
func parseApp(v string) (ociFlags, error) {
	image, ready, _ := strings.Cut(v, "=")
	if image == "" {
		return ociFlags{}, fmt.Errorf("--app %q: want IMAGE[=READY]", v)
	}
	if wl, ok := strings.CutPrefix(image, workloadAppPrefix); ok {
		if err := bench.CheckWorkload(wl); err != nil {
			return ociFlags{}, fmt.Errorf("--app %s: %w", v, err)
		}
		return ociFlags{workload: wl, ready: ready}, checkReady(ready)
	}
	return ociFlags{image: image, ready: ready}, checkReady(ready)
}

// checkReady parses a ready condition given on the command line.
func checkReady(ready string) error {
	if ready == "" {
		return nil // the image's own label says it, or prepare refuses
	}
	_, err := bench.ParseReady(ready)
	return err
}

// prepare resolves the image in the store (importing a file unnamed),
// builds or finds its ext4, maps its config to the process (with
// --oci-cmd as its arguments, split at spaces), takes the ready
// condition from --ready or else the image's own label, and writes the
// VMs' initramfs for it into out as TAG-initrd.cpio and
// TAG-stock-initrd.cpio.
func (f ociFlags) prepare(ctx context.Context, a bench.Assets, out, tag string, progress io.Writer) (*bench.OCIImage, error) {
	dir, err := store.DefaultDir()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	rec, err := st.Resolve(ctx, f.image, progress)
	if err != nil {
		return nil, err
	}
	pc, files, err := st.Process(rec)
	if err != nil {
		return nil, err
	}
	ready, err := readyOf(f.ready, pc.Labels)
	if err != nil {
		return nil, err
	}
	args := strings.Fields(f.cmd)
	proc, err := process.Process(pc, process.Overrides{Args: args}, files)
	if err != nil {
		return nil, err
	}
	img := &bench.OCIImage{Name: f.image, ID: rec.Digest, Layers: st.LayerDirs(rec), Process: proc, Args: args, Ready: ready,
		Initrd: filepath.Join(out, tag+"-initrd.cpio"), StockInitrd: filepath.Join(out, tag+"-stock-initrd.cpio")}
	if _, err := st.Lookup(f.image); err != nil {
		img.Tarball = imageFile(f.image) // a file, not a name: docker can load it
	}
	if img.Ext4, _, err = st.Ext4(ctx, rec); err != nil {
		return nil, err
	}
	return img, writeInitrds(img, a, out)
}

// readyOf is the ready text: from the flag, else from the image's
// process.ReadyLabel.
func readyOf(flag string, labels map[string]string) (bench.Ready, error) {
	if flag == "" {
		flag = labels[process.ReadyLabel]
		if flag == "" {
			return bench.Ready{}, fmt.Errorf("the image has no %s label: give the ready condition (--ready log:TEXT|tcp:PORT|http:PORT/PATH, or --app IMAGE=READY)", process.ReadyLabel)
		}
	}
	return bench.ParseReady(flag)
}

// writeInitrds writes the VMs' initramfs for the image's process: the
// minimal kernel's (vmm-init and the process) and, when the Debian
// kernel's small initramfs is there, that one with the process appended.
func writeInitrds(img *bench.OCIImage, a bench.Assets, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	vmmInit := filepath.Join(filepath.Dir(a.VMM), "vmm-init")
	if err := vmrun.WriteInitrd(img.Initrd, "", vmmInit, img.Process); err != nil {
		return fmt.Errorf("the minimal kernel's initramfs for the image: %w", err)
	}
	if _, err := os.Stat(a.StockInitrd); err == nil {
		if err := vmrun.WriteInitrd(img.StockInitrd, a.StockInitrd, vmmInit, img.Process); err != nil {
			return fmt.Errorf("the Debian kernel's initramfs for the image: %w", err)
		}
	}
	return nil
}

// imageFile is ref when it names a regular file (an image tarball
// docker can load), else "".
func imageFile(ref string) string {
	if fi, err := os.Stat(ref); err == nil && fi.Mode().IsRegular() {
		return ref
	}
	return ""
}

// checkImages validates --oci-image and --app for which.
func (f *benchFlags) checkImages(which string) error {
	if err := f.oci.check(which); err != nil {
		return err
	}
	if len(f.apps) > 0 && which != "all" {
		return fmt.Errorf("--app goes with vmm bench all (vmm bench start measures one image with --oci-image)")
	}
	return nil
}

// prepareImages readies the --oci-image and every --app before the run.
func (f *benchFlags) prepareImages(ctx context.Context, progress io.Writer) error {
	if f.oci.image != "" {
		img, err := f.oci.prepare(ctx, f.o.Assets, f.out, "oci", progress)
		if err != nil {
			return fmt.Errorf("--oci-image %s: %w", f.oci.image, err)
		}
		f.o.Assets.OCI, f.o.Workload = img, f.oci.image+" (OCI image)"
	}
	for i, app := range f.apps {
		shown := app.image
		if app.workload != "" {
			shown = workloadAppPrefix + app.workload
			app.image = filepath.Join(f.out, "workload-"+app.workload+".tar")
			if err := packWorkload(app.image, f.o.Assets.Workload(app.workload), app.workload); err != nil {
				return fmt.Errorf("--app %s: %w", shown, err)
			}
		}
		img, err := app.prepare(ctx, f.o.Assets, f.out, fmt.Sprintf("app%d", i+1), progress)
		if err != nil {
			return fmt.Errorf("--app %s: %w", shown, err)
		}
		img.Name, img.Workload = shown, app.workload
		f.o.Apps = append(f.o.Apps, img)
	}
	return nil
}
