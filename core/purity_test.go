// Package core_test guards the rule that makes the engine replayable: the
// packages under core/ are pure. They do no I/O, read no clock, draw no
// randomness and start no goroutines, so the same command log always gives
// the same state on any machine.
package core_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/sampan-hk/sampan"

// banned lists standard-library imports a core package may not use, by
// exact path or by prefix ending in "/".
var banned = []string{
	"net", "net/", "os", "os/", "time", "math/rand", "math/rand/", "sync", "sync/",
	"database/", "syscall", "io/ioutil", "crypto/rand", "plugin", "unsafe", "runtime/cgo",
}

func isBanned(path string) bool {
	for _, b := range banned {
		if path == b || (strings.HasSuffix(b, "/") && strings.HasPrefix(path, b)) {
			return true
		}
	}
	return false
}

// allowedProject says which project packages a core package may import:
// only other core packages (never the gateway, the journal, drivers...).
func allowedProject(path string) bool {
	return strings.HasPrefix(path, module+"/core/")
}

type finding struct{ file, msg string }

func scan(t *testing.T) []finding {
	t.Helper()
	var out []finding
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first := strings.SplitN(path, "/", 2)[0]
			switch {
			case isBanned(path):
				out = append(out, finding{p, "imports banned package " + path})
			case strings.Contains(first, "."):
				if !allowedProject(path) {
					out = append(out, finding{p, "imports non-core or third-party package " + path})
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.Ident:
				if x.Name == "float32" || x.Name == "float64" {
					out = append(out, finding{fset.Position(x.Pos()).String(), "uses " + x.Name + " (money paths are integer fixed-point)"})
				}
			case *ast.GoStmt:
				out = append(out, finding{fset.Position(x.Pos()).String(), "starts a goroutine"})
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCoreIsPure(t *testing.T) {
	for _, f := range scan(t) {
		t.Errorf("%s: %s", f.file, f.msg)
	}
}

// The checker itself must be able to fail: feed it the rules directly.
func TestPurityRules(t *testing.T) {
	for _, tc := range []struct {
		path string
		bad  bool
	}{
		{"net", true}, {"net/http", true}, {"os", true}, {"os/exec", true}, {"time", true},
		{"math/rand", true}, {"math/rand/v2", true}, {"sync", true}, {"sync/atomic", true},
		{"database/sql", true}, {"syscall", true}, {"crypto/rand", true},
		{"math/bits", false}, {"encoding/binary", false}, {"crypto/sha256", false}, {"errors", false},
		{"strconv", false}, {"timeline", false}, {"osx", false},
	} {
		if got := isBanned(tc.path); got != tc.bad {
			t.Errorf("isBanned(%q) = %v, want %v", tc.path, got, tc.bad)
		}
	}
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{module + "/core/fixed", true}, {module + "/journal", false}, {module + "/gateway", false},
		{"github.com/jackc/pgx/v5", false}, {"modernc.org/sqlite", false},
	} {
		if got := allowedProject(tc.path); got != tc.ok {
			t.Errorf("allowedProject(%q) = %v, want %v", tc.path, got, tc.ok)
		}
	}
}
