package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/report"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
	"github.com/credres/credres/pkg/wiring"
)

// exportOptions are export's flags, checked.
type exportOptions struct {
	out, stateDir, stateTable string
	// signIns is how far back to read Graph's sign-in log; 0 reads none.
	signIns time.Duration
	graph   graphFlags
}

// exportFlags parses export's flags; it returns the exit status to stop
// with, or -1 to go on.
func exportFlags(e env, args []string) (exportOptions, int) {
	fs := flags(e, "export")
	var o exportOptions
	fs.StringVar(&o.out, "out", "", "snapshot `file` to write")
	fs.StringVar(&o.stateDir, "state", "", "read method usage from the local pipeline's state `folder`")
	fs.StringVar(&o.stateTable, "state-table", "", "read method usage from this DynamoDB state `table`")
	signInsSince := fs.String("signins-since", "", "also read the sign-ins of this `period` (30d) from Graph into the usage")
	o.graph.register(fs, true)
	if code := parse(e, fs, args); code >= 0 {
		return o, code
	}
	if !o.graph.enabled {
		return o, usageError(e, fs, "--graph is required: export reads the live tenant")
	}
	if o.out == "" {
		return o, usageError(e, fs, "--out FILE is required")
	}
	if o.stateDir != "" && o.stateTable != "" {
		return o, usageError(e, fs, "give --state or --state-table, not both")
	}
	if *signInsSince != "" {
		d, err := rules.ParseDuration(*signInsSince)
		if err != nil || d <= 0 {
			return o, usageError(e, fs, "--signins-since %q is not a positive duration (30d, 36h)", *signInsSince)
		}
		o.signIns = d
	}
	return o, -1
}

func runExport(e env, args []string) int {
	o, code := exportFlags(e, args)
	if code >= 0 {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// The state store is opened before Graph is read, so that a wrong
	// folder or table fails at once, not after an hour of paced reads.
	src, err := openUsageSource(ctx, o.stateDir, o.stateTable)
	if err != nil {
		return inputError(e, err)
	}
	// One client reads the users and the sign-in log, so that both keep to
	// one reports budget.
	client, err := o.graph.client(ctx)
	if err != nil {
		return inputError(e, err)
	}
	dir, err := o.graph.read(ctx, e, client)
	if err != nil {
		return inputError(e, err)
	}
	if src != nil {
		n, err := fillUsage(ctx, e, src, dir)
		if err != nil {
			return inputError(e, err)
		}
		fmt.Fprintf(e.stderr, "credres: the state store holds method usage for %d of the %d users\n", n, len(dir.Users))
	}
	if o.signIns > 0 {
		if err := readGraphSignIns(ctx, e, client, o.graph.users, dir, time.Now().Add(-o.signIns)); err != nil {
			return inputError(e, err)
		}
	}
	if err := writeSnapshot(o.out, dir); err != nil {
		return inputError(e, err)
	}
	fmt.Fprintf(e.stderr, "credres: wrote %d users to %s\n", len(dir.Users), o.out)
	return exitOK
}

// openUsageSource opens the state store that --state or --state-table
// names, or returns nil when neither is given.
func openUsageSource(ctx context.Context, stateDir, stateTable string) (usageSource, error) {
	switch {
	case stateDir != "":
		return openStateFolder(stateDir)
	case stateTable != "":
		return openStateTable(ctx, stateTable)
	}
	return nil, nil
}

// readGraphSignIns reads the sign-ins since the time given from Graph's
// sign-in log (of the --user users only, when given) and folds them into
// the directory's usage, a page at a time.
func readGraphSignIns(ctx context.Context, e env, client *graph.Client, users []string, dir *model.Directory, since time.Time) error {
	var ids []string
	if len(users) > 0 {
		for i := range dir.Users {
			ids = append(ids, dir.Users[i].ID)
		}
	}
	folder := report.NewSignInFolder(dir)
	start, last, printed := time.Now(), time.Time{}, false
	pages, read, kept := 0, 0, 0
	err := client.SignIns(ctx, since, ids, func(body []byte) error {
		pages++
		b, err := entralog.Parse(body)
		if err != nil {
			return fmt.Errorf("export: sign-ins, page %d: %w", pages, err)
		}
		read += len(b.SignIns)
		kept += folder.Add(b.SignIns)
		if now := time.Now(); now.Sub(last) >= time.Second {
			last, printed = now, true
			fmt.Fprintf(e.stderr, "\rcredres: read %d sign-ins (%d pages, %s)", read, pages, now.Sub(start).Round(time.Second))
		}
		return nil
	})
	if printed {
		fmt.Fprintln(e.stderr) // end the progress line
	}
	if err != nil {
		return err
	}
	n := 0
	for i := range dir.Users {
		if len(dir.Users[i].Usage) > 0 {
			n++
		}
	}
	fmt.Fprintf(e.stderr, "credres: %d sign-ins since %s, %d of users in the snapshot; %d users have method usage\n",
		read, since.UTC().Format(time.RFC3339), kept, n)
	return nil
}

// usageSource is the state store's reader of method usage.
type usageSource interface {
	LoadUsage(ctx context.Context, userID string) ([]model.MethodUsage, error)
}

// openStateFolder opens the file store of a local pipeline's state folder.
// It must be one already: a mistyped folder is an error, not an empty
// store.
func openStateFolder(dir string) (*store.FileStore, error) {
	if st, err := os.Stat(filepath.Join(dir, "users")); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("export: %s is not a state folder of 'credres demo --state' (it has no users folder)", dir)
	}
	return store.OpenFileStore(dir, time.Now)
}

// usageReadAttempts bounds the SDK's attempts at each usage read: a large
// export reads one item per user, and a throttled read is retried rather
// than failing the export.
const usageReadAttempts = 10

// openStateTable opens the DynamoDB state table with the default AWS
// configuration (environment, shared files, instance role), at
// CREDRES_AWS_ENDPOINT when set, and checks that the table exists.
func openStateTable(ctx context.Context, table string) (*store.DynamoDB, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRetryMaxAttempts(usageReadAttempts))
	if err != nil {
		return nil, fmt.Errorf("export: AWS configuration: %w", err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if ep := os.Getenv(wiring.EnvAWSEndpoint); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	if _, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}); err != nil {
		return nil, fmt.Errorf("export: state table %s: %w", table, err)
	}
	return store.NewDynamoDB(client, table, "", time.Now), nil
}

// usageReaders is how many users' usage fillUsage reads at once: one
// strongly consistent GetItem each, so a 50 000-user tenant is about
// 50 000 reads, a few tens of seconds.
const usageReaders = 16

// fillUsage reads every user's usage from the store into the directory
// and returns how many users have some. The first failed read ends the
// export: a snapshot with part of the usage would judge some users as
// never seen.
func fillUsage(ctx context.Context, e env, src usageSource, dir *model.Directory) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		done  int
		wg    sync.WaitGroup
	)
	next := make(chan int)
	start, last := time.Now(), time.Time{}
	for range usageReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				us, err := src.LoadUsage(ctx, dir.Users[i].ID)
				mu.Lock()
				if err != nil && first == nil {
					first = err
					cancel()
				}
				dir.Users[i].Usage = us
				done++
				if now := time.Now(); now.Sub(last) >= time.Second || done == len(dir.Users) {
					last = now
					fmt.Fprintf(e.stderr, "\rcredres: read the usage of %d of %d users (%s)", done, len(dir.Users), now.Sub(start).Round(time.Second))
					if done == len(dir.Users) {
						fmt.Fprintln(e.stderr)
					}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range dir.Users {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first != nil {
		if done > 0 && done < len(dir.Users) {
			fmt.Fprintln(e.stderr) // end the progress line
		}
		return 0, fmt.Errorf("export: method usage: %w", first)
	}
	n := 0
	for i := range dir.Users {
		if len(dir.Users[i].Usage) > 0 {
			n++
		} else {
			dir.Users[i].Usage = nil // no "usage": [] for users never seen
		}
	}
	return n, nil
}

// writeSnapshot writes through a temporary file, so that an interrupted
// export never leaves half a snapshot where a good one was.
func writeSnapshot(path string, dir *model.Directory) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credres-export-*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<16)
	if err := writeJSON(w, dir); err != nil {
		tmp.Close()
		return fmt.Errorf("export: write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("export: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
