package httpapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestHandlersDoNoStoreWork: the HTTP layer binds, calls a service and
// renders. It opens no store transaction, appends no audit event and
// holds no audit chain (the services do, so every change and its event
// commit together), and only the error renderer (errors.go) and the panic
// recovery answer an error themselves: handlers return theirs.
func TestHandlersDoNoStoreWork(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, _ := sel.X.(*ast.Ident)
			switch {
			case sel.Sel.Name == "Transact":
				t.Errorf("%s: a store transaction in the HTTP layer", fset.Position(sel.Pos()))
			case sel.Sel.Name == "Append" && (pkg == nil || pkg.Name != "strconv"):
				t.Errorf("%s: an audit append in the HTTP layer", fset.Position(sel.Pos()))
			case pkg != nil && pkg.Name == "models" && sel.Sel.Name == "Tx":
				t.Errorf("%s: a store transaction (models.Tx) in the HTTP layer", fset.Position(sel.Pos()))
			case pkg != nil && pkg.Name == "audit" && sel.Sel.Name == "Chain":
				t.Errorf("%s: the audit chain in the HTTP layer", fset.Position(sel.Pos()))
			case sel.Sel.Name == "fail" && name != "errors.go" && name != "middleware.go":
				t.Errorf("%s: an error answered outside the adapter (return it instead)", fset.Position(sel.Pos()))
			}
			return true
		})
	}
}
