package tailworld_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const truthPkg = "github.com/rft-dev/rft/tasks/tailworld/internal/truth"

// Nothing that trains, proposes or verifies may link the ground truth
// (DESIGN.md, tailworld): checked on the import graph `go list -deps` reports.
func TestGroundTruthIsNotLinked(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(goBin); err != nil {
		goBin = "go"
	}
	deps := func(pkg string) map[string]bool {
		out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		m := map[string]bool{}
		for _, l := range strings.Fields(string(out)) {
			m[l] = true
		}
		return m
	}
	// Positive control: the oracle does link it, so the check can see it.
	if !deps("github.com/rft-dev/rft/tasks/tailworld/oracle")[truthPkg] {
		t.Fatal("the oracle does not link the truth package: the check would prove nothing")
	}
	for _, pkg := range []string{"tasks/tailworld", "tasks/tailworld/sim", "grpo", "rubric", "reward", "rollout", "policy"} {
		path := "github.com/rft-dev/rft/" + pkg
		if deps(path)[truthPkg] {
			t.Errorf("%s links the hidden ground truth %s", path, truthPkg)
		}
	}
}
