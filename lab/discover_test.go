package lab

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
)

func TestLabTests(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a_lab_test.go"), []byte("package a\nimport \"testing\"\nfunc TestB(t *testing.T) {}\nfunc TestA(t *testing.T) {}\nfunc helper() {}\nfunc TestMain(m *testing.M) {}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "a_test.go"), []byte("package a\nimport \"testing\"\nfunc TestUnit(t *testing.T) {}\n"), 0o644)
	names, err := LabTests(dir)
	if err != nil || !reflect.DeepEqual(names, []string{"TestA", "TestB"}) {
		t.Fatalf("%v %v", names, err)
	}
	re := regexp.MustCompile(RunPattern(names))
	if !re.MatchString("TestA") || re.MatchString("TestAB") || re.MatchString("TestUnit") {
		t.Errorf("pattern %s", RunPattern(names))
	}
	os.WriteFile(filepath.Join(dir, "b_lab_test.go"), []byte("package a\nfunc {"), 0o644)
	if _, err := LabTests(dir); err == nil {
		t.Error("syntax error accepted")
	}
}
