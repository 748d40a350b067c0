package main

import (
	"bufio"
	"fmt"

	"github.com/credres/credres/pkg/explain"
	"github.com/credres/credres/pkg/rules"
)

func runExplain(e env, args []string) int {
	fs := flags(e, "explain")
	directory := fs.String("directory", "", "directory snapshot `file`")
	who := fs.String("user", "", "the user's object `id` or user principal name")
	policyFile := fs.String("policy", "", "policy `file` (YAML); the embedded default policy when empty")
	var pf proofFlags
	pf.register(fs)
	if code := parse(e, fs, args); code >= 0 {
		return code
	}
	if *who == "" {
		return usageError(e, fs, "--user ID|UPN is required")
	}
	pr, err := pf.check()
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	dir, code := loadDirectory(e, fs, *directory)
	if code >= 0 {
		return code
	}
	engine, err := loadEngine(*policyFile)
	if err != nil {
		return inputError(e, err)
	}
	u, ok := dir.FindUser(*who)
	if !ok {
		fmt.Fprintf(e.stderr, "credres: %s: no user with id or user principal name %q\n", *directory, *who)
		return exitBadInput
	}
	if err := pr.read(&pf, dir); err != nil {
		return inputError(e, err)
	}
	a := pr.engine(engine).Evaluate(dir.Tenant, u)
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	for _, s := range explain.Sentences(u, &a) {
		fmt.Fprintln(w, s)
	}
	for _, s := range explain.Usage(u, &a, hasUsage(dir)) {
		fmt.Fprintln(w, s)
	}
	for _, s := range explain.TenantPolicy(dir.Tenant, &a) {
		fmt.Fprintln(w, s)
	}
	if len(a.TenantRecommendations) > 0 {
		// The tenant-side change is counted over every user it would
		// bring within policy, as the report counts it.
		var changes rules.TenantChanges
		for _, other := range engine.EvaluateAll(dir) {
			changes.Add(other.UserID, other.TenantRecommendations)
		}
		n := changes.Count(a.TenantRecommendations)
		fmt.Fprintf(w, "The same change would bring %d %s of the tenant within policy ('credres report' lists them under Tenant policy).\n", n, plural(n, "user", "users"))
	}
	return exitOK
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
