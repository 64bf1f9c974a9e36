package guestinit

import (
	"strings"
	"testing"
)

const testMeminfo = `MemTotal:         241772 kB
MemFree:          205148 kB
Cached:            10240 kB
Slab:               8000 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
`

const testSlabinfo = `slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
kmalloc-1k           512    512   1024   16    4 : tunables    0    0    0 : slabdata     32     32      0
dentry              3000   3024    192   21    1 : tunables    0    0    0 : slabdata    144    144      0
inode_cache         1000   1020    600   13    2 : tunables    0    0    0 : slabdata     78     78      0
bad line
`

// The report line carries /proc/meminfo's kB fields and the slab caches
// by the memory their slabs hold, and reads back into the same numbers.
func TestMemReport(t *testing.T) {
	fields := MemReportFields(testMeminfo, testSlabinfo)
	if want := "MemTotal=241772 MemFree=205148 Cached=10240 Slab=8000 Hugepagesize=2048 slab:inode_cache=597 slab:dentry=567 slab:kmalloc-1k=512"; fields != want {
		t.Errorf("fields %q\nwant   %q (the slab caches largest first)", fields, want)
	}
	m, err := ParseMemReport(MemReportPrefix + fields)
	if err != nil || m["MemTotal"] != 241772 || m["slab:dentry"] != 567 || len(m) != 8 {
		t.Errorf("parsed %v, %v", m, err)
	}
	for _, bad := range []string{"MemTotal=1", MemReportPrefix + "MemTotal", MemReportPrefix + "=5", MemReportPrefix + "a=-1", MemReportPrefix + "a=b"} {
		if _, err := ParseMemReport(bad); err == nil {
			t.Errorf("ParseMemReport(%q) took it", bad)
		}
	}
	if got := MemReportFields(testMeminfo, ""); strings.Contains(got, "slab:") {
		t.Errorf("without slabinfo: %q", got)
	}
}

func TestMemReportParameter(t *testing.T) {
	task, err := ParseCmdline("vmm.run=/bin/http vmm.memreport=5")
	if err != nil || task.MemReport != 5 {
		t.Fatalf("%+v, %v", task, err)
	}
	if line, err := task.Cmdline(); err != nil || !strings.Contains(line, "vmm.memreport=5") {
		t.Errorf("Cmdline %q, %v", line, err)
	}
	for _, bad := range []string{"0", "-1", "3601", "x", ""} {
		if _, err := ParseCmdline("vmm.memreport=" + bad); err == nil {
			t.Errorf("vmm.memreport=%s taken", bad)
		}
	}
}
