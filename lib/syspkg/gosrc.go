package syspkg

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
)

// FromGo finds the programs the Go files of one package run: the name given
// to exec.Command, exec.CommandContext and exec.LookPath when it is a
// string literal, a constant, or a loop variable over a list of literals;
// the body of a literal `sh -c` script; and, one call deep, the literal
// passed to a function of the package that hands its parameter to one of
// those (runLogged(ctx, log, "debootstrap", …)). files maps a name (as it
// is reported) to its source.
func FromGo(files map[string][]byte) ([]Use, error) {
	fset := token.NewFileSet()
	var parsed []*ast.File
	for name, src := range files {
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, f)
	}
	consts := map[string]string{}
	for _, f := range parsed {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if v, ok := stringLit(vs.Values[i]); ok {
							consts[n.Name] = v
						}
					}
				}
			}
		}
	}
	g := &goScan{fset: fset, consts: consts, wrappers: map[string]int{}}
	for _, f := range parsed {
		g.file(f, true)
	}
	for _, f := range parsed {
		g.file(f, false)
	}
	return g.uses, g.err
}

type goScan struct {
	fset     *token.FileSet
	consts   map[string]string
	wrappers map[string]int // function name → index of its program parameter
	uses     []Use
	err      error
}

// file walks one file. In the first pass it records wrappers; in the
// second it records uses.
func (g *goScan) file(f *ast.File, wrappersOnly bool) {
	execName := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "os/exec" {
			execName = "exec"
			if imp.Name != nil {
				execName = imp.Name.Name
			}
		}
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		params := map[string]int{}
		i := 0
		for _, field := range fd.Type.Params.List {
			for _, n := range field.Names {
				params[n.Name] = i
				i++
			}
			if len(field.Names) == 0 {
				i++
			}
		}
		g.walk(fd.Body, execName, fd.Name.Name, params, nil, wrappersOnly)
	}
}

// walk visits n, knowing the literal values of the range variables of the
// loops around it.
func (g *goScan) walk(n ast.Node, execName, fn string, params map[string]int, loops map[string][]string, wrappersOnly bool) {
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.RangeStmt:
			if id, ok := n.Value.(*ast.Ident); ok {
				if vals, ok := stringList(n.X); ok {
					inner := map[string][]string{id.Name: vals}
					for k, v := range loops {
						inner[k] = v
					}
					g.walk(n.Body, execName, fn, params, inner, wrappersOnly)
					return false
				}
			}
		case *ast.CallExpr:
			idx := -1
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && execName != "" && x.Name == execName {
					switch sel.Sel.Name {
					case "Command", "LookPath":
						idx = 0
					case "CommandContext":
						idx = 1
					}
				} else if i, ok := g.wrappers[sel.Sel.Name]; ok && !wrappersOnly {
					idx = i
				}
			} else if id, ok := n.Fun.(*ast.Ident); ok && !wrappersOnly {
				if i, ok := g.wrappers[id.Name]; ok {
					idx = i
				}
			}
			if idx < 0 || idx >= len(n.Args) {
				return true
			}
			arg := n.Args[idx]
			if id, ok := arg.(*ast.Ident); ok {
				if p, ok := params[id.Name]; ok && wrappersOnly {
					g.wrappers[fn] = p
				}
			}
			if wrappersOnly {
				return true
			}
			line := g.fset.Position(n.Pos()).Line
			file := g.fset.Position(n.Pos()).Filename
			for _, prog := range g.values(arg, loops) {
				g.uses = append(g.uses, Use{Program: prog, File: file, Line: line})
			}
			if idx+2 < len(n.Args) {
				prog, _ := stringLit(arg)
				flag, _ := stringLit(n.Args[idx+1])
				if body, ok := stringLit(n.Args[idx+2]); ok && flag == "-c" && (prog == "sh" || prog == "bash" || prog == "/bin/sh" || prog == "/bin/bash") {
					more, err := FromShell(file, []byte(body), line-1)
					if err != nil && g.err == nil {
						g.err = err
					}
					g.uses = append(g.uses, more...)
				}
			}
		}
		return true
	})
}

// values are the literal strings e may hold.
func (g *goScan) values(e ast.Expr, loops map[string][]string) []string {
	if s, ok := stringLit(e); ok {
		return []string{s}
	}
	if id, ok := e.(*ast.Ident); ok {
		if v, ok := g.consts[id.Name]; ok {
			return []string{v}
		}
		return loops[id.Name]
	}
	return nil
}

func stringLit(e ast.Expr) (string, bool) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}

// stringList is the values of a []string{…} literal of literals.
func stringList(e ast.Expr) ([]string, bool) {
	cl, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil, false
	}
	var out []string
	for _, el := range cl.Elts {
		s, ok := stringLit(el)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
