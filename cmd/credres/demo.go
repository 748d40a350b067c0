package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/credres/credres/events"
	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/explain"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/local"
	"github.com/credres/credres/pkg/mask"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/rules"
)

// demoOptions are the demo's flags, checked.
type demoOptions struct {
	directory, events, stateDir, policyFile, templates string
	sweep, baseline, campaign, dryRun, quiet           bool
	maxAge                                             time.Duration
	// now is the pipeline's clock; at is the time usage is judged at in
	// the output: the run's start.
	now func() time.Time
	at  time.Time
}

// demoFlags parses the demo's flags; it returns the exit status to stop
// with, or -1 to go on.
func demoFlags(e env, args []string) (demoOptions, int) {
	fs := flags(e, "demo")
	var o demoOptions
	fs.StringVar(&o.directory, "directory", "", "directory snapshot `file` (default: the built-in sample tenant)")
	fs.StringVar(&o.events, "events", "", "audit and sign-in records: a `file` or folder of Event Hubs bodies or Graph pages (default: the built-in sample audit events and sign-ins; \"none\" for none)")
	fs.StringVar(&o.stateDir, "state", ".credres", "state `folder`: store, outbox and dead letters")
	fs.StringVar(&o.policyFile, "policy", "", "policy `file` (YAML); the embedded default policy when empty")
	fs.BoolVar(&o.sweep, "sweep", false, "also reconcile every user of the snapshot, as the scheduled sweep does")
	fs.BoolVar(&o.baseline, "baseline", false, "with --sweep: record first findings without nudging anyone")
	fs.BoolVar(&o.campaign, "campaign", false, "with --sweep: act on first findings too")
	maxAge := fs.String("max-age", "", "with --sweep: re-evaluate users assessed longer ago than this (e.g. 7d)")
	nowFlag := fs.String("now", "", "evaluate at this RFC 3339 `time` instead of the clock (to play through reminders)")
	fs.StringVar(&o.templates, "templates", "", "`folder` of nudge and ticket templates overriding the built-in ones")
	fs.BoolVar(&o.dryRun, "dry-run", false, "record every intended message in <state>/outbox/dry-run.jsonl and send nothing")
	fs.BoolVar(&o.quiet, "quiet", false, "do not print the rendered messages")
	if code := parse(e, fs, args); code >= 0 {
		return o, code
	}
	if (o.baseline || o.campaign || *maxAge != "") && !o.sweep {
		return o, usageError(e, fs, "--baseline, --campaign and --max-age go with --sweep")
	}
	if o.baseline && o.campaign {
		return o, usageError(e, fs, "--baseline and --campaign exclude each other")
	}
	o.now = time.Now
	o.at = o.now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			return o, usageError(e, fs, "--now: %v", err)
		}
		o.at = t
		// Each call moves on by a millisecond so that successive writes of
		// one run stay ordered, as they would on a real clock.
		var tick time.Duration
		o.now = func() time.Time { tick += time.Millisecond; return t.Add(tick) }
	}
	if *maxAge != "" {
		d, err := rules.ParseDuration(*maxAge)
		if err != nil {
			return o, usageError(e, fs, "--max-age: %v", err)
		}
		o.maxAge = d
	}
	return o, -1
}

func runDemo(e env, args []string) int {
	o, code := demoFlags(e, args)
	if code >= 0 {
		return code
	}
	dir, code := demoDirectory(e, o.directory)
	if code >= 0 {
		return code
	}
	receiver, err := demoEvents(o.events)
	if err != nil {
		return inputError(e, err)
	}
	engine, err := loadEngine(o.policyFile)
	if err != nil {
		return inputError(e, err)
	}
	renderer, err := notify.NewRenderer(engine.Policy().Nudges, o.templates)
	if err != nil {
		return inputError(e, err)
	}
	cfg := local.Config{
		Directory: dir, StateDir: o.stateDir, Engine: engine, Now: o.now,
		Sweep: o.sweep, Baseline: o.baseline, Campaign: o.campaign, MaxAge: o.maxAge,
		Render: renderer, DryRun: o.dryRun,
	}
	if receiver != nil {
		cfg.Events = receiver
	}
	res, err := local.Run(context.Background(), cfg)
	if err != nil {
		return inputError(e, err)
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	printDemo(w, dir, res, engine.Policy().ShortestProofWindow(), o.at)
	if !o.quiet {
		printMessages(w, res)
	}
	if len(res.Dead) > 0 || res.Ingest.Malformed > 0 {
		return exitBadInput
	}
	return exitOK
}

// demoDirectory reads the snapshot file, or the built-in sample tenant
// when file is empty.
func demoDirectory(e env, file string) (*model.Directory, int) {
	if file != "" {
		// The pipeline only evaluates: the methods' Graph objects are not kept.
		dir, err := graphjson.LoadDirectoryWith(file, graphjson.DirectoryOptions{})
		return readDirectory(e, dir, err)
	}
	f, err := events.Files.Open("tenant.json")
	if err != nil {
		return nil, inputError(e, err)
	}
	defer f.Close()
	dir, err := graphjson.DecodeDirectory(f)
	return readDirectory(e, dir, err)
}

// demoEvents opens the records of --events: the built-in sample audit
// events and sign-ins when path is empty, none for "none".
func demoEvents(path string) (pipeline.AuditReceiver, error) {
	switch path {
	case "none":
		return nil, nil
	case "":
		audit, aerr := local.ReadAuditFiles(events.Files, "audit")
		signIns, serr := local.ReadAuditFiles(events.Files, "signin")
		if err := errors.Join(aerr, serr); err != nil {
			return nil, err
		}
		return local.Chain(audit, signIns), nil
	}
	files, err := local.ReadAuditFiles(nil, path)
	if err != nil {
		return nil, err
	}
	return files, nil
}

// printDemo says what each stage of the run did.
func printDemo(w io.Writer, dir *model.Directory, res *local.Result, window time.Duration, at time.Time) {
	users := dir.Index()
	printIngest(w, res.Ingest)
	if res.Ingest.SignInRecords > 0 {
		printSignIns(w, users, res, window, at)
	}
	printSweep(w, res.Sweep)
	printOutcomes(w, users, res.Outcomes)
	printDeliveries(w, res)
}

// printIngest says what ingest read and what it made of it.
func printIngest(w io.Writer, in pipeline.IngestStats) {
	fmt.Fprintf(w, "ingest: %d messages, %d audit records", in.Messages, in.Records-in.SignInRecords)
	if in.SignInRecords > 0 {
		fmt.Fprintf(w, " and %d sign-in records", in.SignInRecords)
	}
	fmt.Fprintf(w, " -> %d evaluation requests", in.Requests)
	var parts []string
	for r, n := range in.Skipped {
		if !isSignInSkip(r) {
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
	}
	if len(parts) > 0 {
		sort.Strings(parts)
		fmt.Fprintf(w, " (skipped: %s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	if in.PolicyChanges > 0 || in.PolicyRepeats > 0 {
		fmt.Fprintf(w, "ingest: %d changes of the tenant's own policy recorded for the sweep (%d repeated)\n", in.PolicyChanges, in.PolicyRepeats)
	}
	if in.Malformed > 0 {
		fmt.Fprintf(w, "ingest: %d messages had malformed records (see dead-letters.jsonl)\n", in.Malformed)
	}
}

// printSweep says what the sweep asked to evaluate, when it ran.
func printSweep(w io.Writer, s *pipeline.SweepStats) {
	switch {
	case s == nil:
	case s.PolicyChange != "":
		fmt.Fprintf(w, "sweep: the tenant's policy changed (%s): every user of %d -> %d evaluation requests\n", mask.Line(s.PolicyChange), s.Users, s.Enqueued)
	case s.GraceEnded > 0:
		fmt.Fprintf(w, "sweep: a policy change's grace period ended: every user of %d -> %d evaluation requests\n", s.Users, s.Enqueued)
	default:
		fmt.Fprintf(w, "sweep: %d users, %d never assessed, %d changed, %d stale -> %d evaluation requests\n", s.Users, s.New, s.Changed, s.Stale, s.Enqueued)
	}
}

// printOutcomes shows each evaluated user's assessment and decision.
func printOutcomes(w io.Writer, users *model.UserIndex, outcomes []pipeline.Outcome) {
	fmt.Fprintf(w, "evaluate: %d users\n", len(outcomes))
	for _, o := range outcomes {
		name := o.UserID
		if u, ok := users.Find(o.UserID); ok {
			name = u.UserPrincipalName
		}
		// Everything printed from the directory or the events goes
		// through mask.Line or mask.Text: a terminal is an edge.
		name = mask.Line(name)
		if o.Err != nil {
			fmt.Fprintf(w, "  %-36s error: %s\n", name, mask.Line(o.Err.Error()))
			continue
		}
		a := o.Assessment
		state := "compliant"
		if !a.Compliant {
			state = "below policy: " + strings.Join(model.ViolationStrings(a.Violations), ", ")
		}
		reason := ""
		if len(o.Decision.Reasons) > 0 {
			reason = " (" + mask.Line(explain.ReasonIn(o.Decision.Reasons[0], &a)) + ")"
		}
		fmt.Fprintf(w, "  %-36s diversity %d/%d, %s\n", name, a.Diversity, a.MinDiversity, state)
		if unproven := unprovenMethods(a.Proof); unproven != "" {
			fmt.Fprintf(w, "  %-36s unproven by the sign-in logs: %s\n", "", unproven)
		}
		fmt.Fprintf(w, "  %-36s -> %s%s\n", "", o.Decision.Kind, reason)
	}
}

// printDeliveries counts the nudges and tickets sent and where they were
// written, and names the dead letters.
func printDeliveries(w io.Writer, res *local.Result) {
	sent, file := "delivered", "nudges.jsonl"
	if len(res.Nudges) > 0 && res.Nudges[0].DryRun || len(res.Tickets) > 0 && res.Tickets[0].DryRun {
		sent, file = "recorded (dry run, nothing sent)", "dry-run.jsonl"
	}
	fmt.Fprintf(w, "nudge: %d %s", len(res.Nudges), sent)
	if len(res.Nudges) > 0 {
		fmt.Fprintf(w, " -> %s/%s", res.OutboxDir, file)
	}
	fmt.Fprintln(w)
	opened, resolved, updated := 0, 0, 0
	for _, t := range res.Tickets {
		switch t.Action {
		case "opened":
			opened++
		case "resolved":
			resolved++
		default:
			updated++
		}
	}
	fmt.Fprintf(w, "ticket: %d opened, %d updated, %d resolved", opened, updated, resolved)
	if len(res.Tickets) > 0 {
		if file == "nudges.jsonl" {
			file = "tickets.jsonl"
		}
		fmt.Fprintf(w, " -> %s/%s", res.OutboxDir, file)
	}
	fmt.Fprintln(w)
	for _, t := range res.Tickets {
		if pc := t.PolicyChange; pc != nil {
			fmt.Fprintf(w, "ticket: one tenant-side ticket %s about the policy change: %d users dropped, the first nudges of %d held until %s\n",
				t.TicketID, pc.Dropped, pc.Held, pc.GraceUntil.UTC().Format(time.RFC3339))
		}
	}
	for _, d := range res.Dead {
		fmt.Fprintf(w, "dead letter (%s): %s\n", d.Stage, mask.Line(d.Reason))
	}
	if len(res.Nudges)+len(res.Tickets) == 0 && len(res.Outcomes) > 0 {
		fmt.Fprintln(w, "nothing new to send.")
	}
}

// unprovenMethods lists the methods an assessment judged unproven, with
// their state of proof.
func unprovenMethods(proof []model.MethodProof) string {
	var out []string
	for _, p := range proof {
		if p.Proven() {
			continue
		}
		m := string(p.Kind)
		if p.Name != "" {
			m += fmt.Sprintf(" %q", mask.Line(p.Name))
		}
		out = append(out, fmt.Sprintf("%s (%s)", m, p.Proof))
	}
	return strings.Join(out, ", ")
}

// isSignInSkip tells the skip reasons of sign-in records, which the
// sign-ins line explains, from those of audit records.
func isSignInSkip(reason string) bool {
	return reason == entralog.SkipSignInNoUser || reason == entralog.SkipSignInNoProof || reason == pipeline.SkipUsageRefused
}

// printSignIns says what the run's sign-ins proved: how many proved
// something and why the others did not, the method values credres does not
// know, and, user by user, each method whose last success or failure moved
// forward, judged with the policy's shortest proof window when it has one.
func printSignIns(w io.Writer, users *model.UserIndex, res *local.Result, window time.Duration, at time.Time) {
	in := res.Ingest
	fmt.Fprintf(w, "sign-ins: %d of %d proved methods", in.SignIns, in.SignInRecords)
	var skipped []string
	if n := in.Skipped[entralog.SkipSignInNoUser]; n > 0 {
		skipped = append(skipped, fmt.Sprintf("%d without a user (service principals, managed identities)", n))
	}
	if n := in.Skipped[entralog.SkipSignInNoProof]; n > 0 {
		skipped = append(skipped, fmt.Sprintf("%d proving nothing (previously satisfied, a claim in the token)", n))
	}
	if n := in.Skipped[pipeline.SkipUsageRefused]; n > 0 {
		skipped = append(skipped, fmt.Sprintf("%d users' usage refused by the store", n))
	}
	if len(skipped) > 0 {
		fmt.Fprintf(w, "; skipped: %s", strings.Join(skipped, ", "))
	}
	fmt.Fprintln(w)
	if len(in.UnknownMethods) > 0 {
		var unknown []string
		for name, n := range in.UnknownMethods {
			unknown = append(unknown, fmt.Sprintf("%d %q", n, mask.Line(name)))
		}
		sort.Strings(unknown)
		fmt.Fprintf(w, "sign-ins: unknown method values, counted and not mapped: %s\n", strings.Join(unknown, ", "))
	}
	changed := 0
	for _, u := range res.Usage {
		changed += len(u.Changes)
	}
	fmt.Fprintf(w, "usage: %d method writes, %d moved a last success or failure forward", in.UsageWrites, changed)
	if window > 0 {
		fmt.Fprintf(w, "; %d users' methods changed state of proof (proofWindow %s) -> evaluation requests\n", in.ProofChanges, rules.Duration(window))
	} else {
		fmt.Fprintln(w, "; no tier has a proofWindow, so no sign-in starts an evaluation")
	}
	for _, u := range res.Usage {
		name := u.UserID
		if user, ok := users.Find(u.UserID); ok {
			name = user.UserPrincipalName
		}
		for i, c := range u.Changes {
			if i > 0 {
				name = ""
			}
			fmt.Fprintf(w, "  %-36s %s\n", mask.Line(name), usageLine(c.After, window, at))
		}
	}
}

// usageLine is one method's usage: what it is, when it last worked and last
// failed, and, with a proof window, its state of proof at the given time.
func usageLine(u model.MethodUsage, window time.Duration, at time.Time) string {
	var b strings.Builder
	b.WriteString(string(u.Kind))
	switch {
	case u.Instance == "":
	case u.Kind == model.KindMobilePhone || u.Kind == model.KindAlternateMobilePhone || u.Kind == model.KindOfficePhone:
		fmt.Fprintf(&b, " ending %s", mask.Line(u.Instance))
	default:
		fmt.Fprintf(&b, " %q", mask.Line(u.Instance))
	}
	if !u.LastUsed.IsZero() {
		fmt.Fprintf(&b, ": worked %s", u.LastUsed.Format(time.DateOnly))
	}
	if !u.LastFailed.IsZero() {
		sep := ","
		if u.LastUsed.IsZero() {
			sep = ":"
		}
		fmt.Fprintf(&b, "%s failed %s", sep, u.LastFailed.Format(time.DateOnly))
	}
	if window > 0 {
		fmt.Fprintf(&b, " -> %s", u.Proof(at, window))
	}
	return b.String()
}

// printMessages shows what the people on the receiving end read.
func printMessages(w io.Writer, res *local.Result) {
	for _, n := range res.Nudges {
		fmt.Fprintf(w, "\n--- nudge to %s by %s (%s): %s\n%s", mask.Line(orDash(n.To)), n.Channel, mask.Line(n.Language), mask.Line(n.Subject), mask.Text(n.Text))
	}
	for _, t := range res.Tickets {
		// A resolved ticket's title already begins "Resolved:".
		fmt.Fprintf(w, "\n--- ticket %s (%s)\n%s\n%s\n", t.TicketID, t.Action, mask.Line(t.Title), mask.Text(t.Description))
	}
}
