package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNoTemplatePackage keeps text/template (and html/template) out of the api
// function: their method calls by reflection keep the linker from dropping unused
// methods anywhere in the binary, which once grew it by 7 MB (the console's page is
// written with shared/htmlesc instead).
func TestNoTemplatePackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, p := range []string{"text/template", "html/template"} {
		if slices.Contains(deps, p) {
			t.Errorf("the api function links %s", p)
		}
	}
}
