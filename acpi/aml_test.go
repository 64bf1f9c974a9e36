package acpi

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestPkgLength(t *testing.T) {
	for _, c := range []struct {
		n    int
		head []byte
	}{
		{0, []byte{0x01}},
		{62, []byte{0x3f}},
		{63, []byte{0x41, 0x04}},   // 63+2 = 65 = 0x041: low nibble, then 0x04
		{4093, []byte{0x4f, 0xff}}, // 4095, the largest two-byte length
		{4094, []byte{0x81, 0x00, 0x01}},
		{1 << 20, []byte{0xc4, 0x00, 0x00, 0x01}},
	} {
		got := pkgLength(make([]byte, c.n))
		if !bytes.Equal(got[:len(c.head)], c.head) || len(got) != c.n+len(c.head) {
			t.Errorf("pkgLength of %d bytes: % x..., want % x", c.n, got[:len(c.head)], c.head)
		}
	}
}

func TestAMLEncodings(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want []byte
	}{
		{"integers", join(nil, [][]byte{amlInteger(0), amlInteger(1), amlInteger(0x80), amlInteger(0x1234), amlInteger(0xef000), amlInteger(1 << 40)}),
			[]byte{0, 1, 0x0a, 0x80, 0x0b, 0x34, 0x12, 0x0c, 0x00, 0xf0, 0x0e, 0x00, 0x0e, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"name paths", join(nil, [][]byte{namePath("AB"), namePath(`\_SB`), namePath(`\_SB.VGEN`), namePath(`\A.B.C`)}),
			[]byte("AB__\\_SB_\\\x2e_SB_VGEN\\\x2f\x03A___B___C___")},
		{"_S5 as before", dsdtBody(nil), []byte{0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, SleepTypeS5, 0x00, 0x00, 0x00}},
		{"interrupt", edgeInterrupt(16), []byte{0x89, 6, 0, 3, 1, 16, 0, 0, 0, 0x79, 0}},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: % x, want % x", c.name, c.got, c.want)
		}
	}
}

// The DSDT with a VM generation ID, disassembled by ACPICA's own iasl
// (the code Linux's ACPI interpreter comes from), says what the ASL in
// dsdtBody's comment says.
func TestDSDTDisassembles(t *testing.T) {
	iasl, err := exec.LookPath("iasl")
	if err != nil {
		t.Skip("needs iasl (acpica-tools, which make deps installs)")
	}
	b, err := Build(0xe0000, Config{CPUs: 1, IOAPICAddr: 0xfec00000, LAPICAddr: 0xfee00000, PMPort: 0x600, ResetPort: 0x606,
		ResetValue: 1, SCI: 9, VMGenID: &VMGenID{Addr: 0xef000, GSI: 16}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dat := filepath.Join(dir, "dsdt.dat")
	if err := os.WriteFile(dat, tables(t, 0xe0000, b)["DSDT"], 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(iasl, "-d", dat).CombinedOutput()
	if err != nil {
		t.Fatalf("iasl -d: %v\n%s", err, out)
	}
	asl, err := os.ReadFile(filepath.Join(dir, "dsdt.dsl"))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// iasl's layout without its comments, spacing squeezed out
	text := regexp.MustCompile(`//[^\n]*|/\*.*?\*/`).ReplaceAllString(string(asl), "")
	text = strings.Join(strings.Fields(text), " ")
	for _, want := range []string{
		"Name (_S5, Package (0x04) { 0x05, Zero, Zero, Zero })",
		"Scope (\\_SB) { Device (VGEN) { Name (_HID, \"VMGENCTR\")",
		"Name (_DDN, \"VM_Gen_Counter\")",
		"Name (ADDR, Package (0x02) { 0x000EF000, Zero })",
		"Device (VGED) { Name (_HID, \"ACPI0013\" )",
		"Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, ) { 0x00000010, }",
		"Method (_EVT, 1, NotSerialized) { Notify (\\_SB.VGEN, 0x80)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the disassembly lacks %q:\n%s", want, asl)
		}
	}
	if strings.Contains(string(out), "Error") || strings.Contains(string(out), "Warning") {
		t.Errorf("iasl complained:\n%s", out)
	}
}
